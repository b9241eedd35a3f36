"""Drives the explorer in a real browser (Debian's chromium, headless, through chromium-driver
and Selenium) for scripts/interop/explorer.sh, which made the entries with real clients and
passes what it knows of them in --facts (JSON).

Prints one line per check, `ok: <what>` or `FAILED: <what> (<why>)`, which explorer.sh counts;
with --screenshots DIR it saves the main views as PNG files there (docs/explorer.md shows them).
"""

import argparse
import base64
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

PASSED = 0
FAILED = 0


def check(what, fn):
    global PASSED, FAILED
    try:
        result = fn()
        if result is False:
            raise AssertionError("false")
        PASSED += 1
        print(f"ok: {what}", flush=True)
    except Exception as e:  # noqa: BLE001 -- every failure is reported, then the next check runs
        FAILED += 1
        print(f"FAILED: {what} ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})", flush=True)


class Page:
    def __init__(self, driver, base):
        self.d = driver
        self.base = base.rstrip("/")

    def open(self, fragment):
        self.d.get(f"{self.base}/#{fragment}")
        self.settle()

    def settle(self, timeout=30):
        # A view is done when main is no longer busy (app.js sets aria-busy around a view).
        time.sleep(0.05)
        WebDriverWait(self.d, timeout).until(
            lambda d: d.find_element(By.ID, "main").get_attribute("aria-busy") == "false")

    def text(self):
        return self.d.find_element(By.ID, "main").text

    def all(self, css):
        return self.d.find_elements(By.CSS_SELECTOR, f"#main {css}")

    def badges(self):
        return [b.get_attribute("data-verified") for b in self.all(".badge[data-verified]")]

    def verified(self):
        b = self.badges()
        assert b and all(v == "true" for v in b), f"badges {b}: {self.text()[:300]}"

    def not_verified(self):
        b = self.badges()
        assert "false" in b, f"badges {b}: {self.text()[:300]}"

    def error_message(self, *words):
        msgs = [m.text for m in self.all(".message.error")]
        assert msgs, f"no error message: {self.text()[:300]}"
        joined = " ".join(msgs).lower()
        for w in words:
            assert w.lower() in joined, f"{w!r} not in {msgs}"
        return True

    def open_bundle(self, path, ready_css):
        """Opens the file at `path` in the bundle view; returns the first `ready_css` element once
        the page shows one."""
        self.open("/bundle")
        self.d.find_element(By.ID, "bundle-file").send_keys(path)
        WebDriverWait(self.d, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, ready_css))
        return self.all(ready_css)[0]

    def shot(self, directory, name, full=True):
        # The whole page, not only the window (Chromium's DevTools protocol can).
        if not directory:
            return
        if not full:
            self.d.save_screenshot(os.path.join(directory, name))
            return
        png = self.d.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        with open(os.path.join(directory, name), "wb") as out:
            out.write(base64.b64decode(png["data"]))


def search(page, by, q):
    page.open(f"/search?by={by}&q={urllib.parse.quote(q, safe='')}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--facts", required=True)
    parser.add_argument("--browser", required=True)
    parser.add_argument("--driver", required=True)
    parser.add_argument("--screenshots")
    parser.add_argument("--grow", required=True, help="a command that adds entries to every log")
    args = parser.parse_args()
    with open(args.facts) as file:
        facts = json.load(file)

    options = webdriver.ChromeOptions()
    options.binary_location = args.browser
    for flag in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1280,1000", "--no-first-run", "--disable-extensions",
                 "--hide-scrollbars", "--force-device-scale-factor=1"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=args.driver), options=options)
    driver.set_page_load_timeout(30)
    shots = args.screenshots
    try:
        run(driver, facts, shots, args.grow)
    finally:
        driver.quit()
    print(f"browser: {PASSED} passed, {FAILED} failed")
    return 1 if FAILED else 0


def run(driver, f, shots, grow):
    p = Page(driver, f["explorer"])

    # --- the overview: every log's checkpoint verified in the browser -----------------------
    def overview():
        p.open("/")
        for log in ["rekor", "rekor-v2", "ctlog"]:
            card = p.all(f'[data-log="{log}"] .badge[data-verified]')
            assert card and card[0].get_attribute("data-verified") == "true", f"{log}: {p.text()[:400]}"
        assert len(p.all("svg.chart")) >= 4, "charts"
        # Rekor v2 logs no time: its entries are dated by their certificates (all have one).
        v2 = [fig for fig in p.all("figure") if fig.text.startswith("Rekor v2: entries per hour")]
        assert v2 and v2[0].find_elements(By.CSS_SELECTOR, "svg.chart"), "a Rekor v2 entries-per-hour chart"
        assert "without one" not in v2[0].text, v2[0].text[:200]
        return True
    check("overview: the Rekor v1, Rekor v2 and CT checkpoints verify with WebCrypto (ECDSA P-256, Ed25519, STH); entries per hour of each log charted", overview)

    # --- search, each way --------------------------------------------------------------------
    def by_digest():
        search(p, "hash", f"sha256:{f['digest']}")
        rows = p.all("table.entries tbody tr")
        assert len(rows) >= f["digest_entries"], f"{len(rows)} rows: {p.text()[:300]}"
        rows[0].find_element(By.CSS_SELECTOR, "a").click()
        p.settle()
        p.verified()
        return True
    check("search by artifact digest lists its entries; the first opens verified", by_digest)
    p.shot(shots, "explorer-search.png")

    def by_email():
        search(p, "email", f["email"])
        assert len(p.all("table.entries tbody tr")) >= f["email_entries"], p.text()[:300]
        assert f["email"] in p.text()
        return True
    check("search by identity (email) lists every entry it signed", by_email)

    def by_uuid():
        search(p, "auto", f["v1_uuid"])
        p.verified()
        t = p.text()
        assert f["email"] in t and f["issuer"] in t, "identity and OIDC issuer shown"
        assert "hashedrekord" in t and f["digest"] in t
        assert "Issued by a CA of trusted_root.json" in t and "SCT 1" in t, "CA and SCT checked"
        assert "Validity" in t and "Integrated time" in t
        return True
    check("search by UUID opens the entry: verified (inclusion, checkpoint, SET, CA signature, SCT), SAN, OIDC issuer, digest, integrated time", by_uuid)
    p.shot(shots, "explorer-entry-rekor-v1.png")

    def by_index():
        search(p, "auto", str(f["v1_index"]))
        p.verified()
        assert f"Rekor v1 entry {f['v1_index']}" in p.text()
        return True
    check("search by log index opens that entry, verified", by_index)

    def by_key():
        search(p, "key", f["v1_cert_pem"])
        assert len(p.all("table.entries tbody tr")) >= 1, p.text()[:300]
        return True
    check("search by PEM certificate finds its entry", by_key)

    def by_fingerprint():
        fingerprint = f["v1_fingerprint"]
        openssl_style = ":".join(fingerprint[i:i + 2] for i in range(0, 64, 2)).upper()
        for by, q in [("auto", openssl_style), ("fingerprint", fingerprint), ("auto", f"sha256:{fingerprint}")]:
            search(p, by, q)
            rows = p.all("table.entries tbody tr")
            assert len(rows) == 1, f"{by} {q}: {len(rows)} rows: {p.text()[:300]}"
        rows[0].find_element(By.CSS_SELECTOR, "a").click()
        p.settle()
        p.verified()
        t = p.text()
        assert f"SHA-256 fingerprint\n{fingerprint}" in t or fingerprint in t, "the entry shows the fingerprint"
        search(p, "hash", f"sha256:{fingerprint}")
        assert "no entry matches" in p.text(), "a fingerprint is no artifact digest"
        return True
    check("search by certificate fingerprint (openssl's colons, bare hex, sha256:) finds the entry it signed, opened verified; never as a digest", by_fingerprint)

    def fingerprint_link():
        p.open(f"/rekor/entry/{f['v1_uuid']}")
        p.d.find_element(By.PARTIAL_LINK_TEXT, "Rekor v1 entries signed with it").click()
        p.settle()
        assert "#/search?by=fingerprint" in p.d.current_url, p.d.current_url
        assert len(p.all("table.entries tbody tr")) == 1, p.text()[:300]
        return True
    check("an entry's certificate links to the entries signed with it (by fingerprint)", fingerprint_link)

    def deep_link():
        p.open(f"/rekor/entry/{f['v1_uuid']}")
        p.verified()
        return True
    check("the deep link of an entry opens it verified", deep_link)

    def dsse_entry():
        search(p, "index", str(f["dsse_index"]))
        p.verified()
        assert "dsse 0.0.1" in p.text(), p.text()[:300]
        return True
    check("sigstore-python's DSSE attestation entry shows as dsse 0.0.1, verified", dsse_entry)

    def intoto_entry():
        search(p, "index", str(f["intoto_index"]))
        p.verified()
        assert "intoto 0.0.2" in p.text(), p.text()[:300]
        return True
    check("sigstore-js's attestation entry shows as intoto 0.0.2, verified", intoto_entry)

    def js_entry():
        search(p, "index", str(f["js_index"]))
        p.verified()
        assert f["email"] in p.text()
        return True
    check("sigstore-js library's hashedrekord entry opens verified", js_entry)

    # --- browsing Rekor v2 and the CT log -------------------------------------------------------
    def browse_v1():
        p.open("/rekor")
        rows = p.all("table.entries tbody tr")
        assert len(rows) == min(20, f["v1_size"]), f"{len(rows)} rows"
        first = rows[0].find_element(By.CSS_SELECTOR, "td").text
        assert first == str(f["v1_size"] - 1), f"newest first: {first}"
        return True
    check("Rekor v1 lists its entries newest first", browse_v1)

    def browse_v2():
        p.open("/rekor-v2")
        rows = p.all("table.entries tbody tr")
        assert len(rows) >= 1
        rows[0].find_element(By.CSS_SELECTOR, "a").click()
        p.settle()
        p.verified()
        assert "hashedrekord 0.0.2" in p.text()
        return True
    check("Rekor v2: browse newest first, the entry's proof built from tiles verifies", browse_v2)

    def browse_ct():
        p.open("/ctlog")
        rows = p.all("table.entries tbody tr")
        assert len(rows) >= f["ct_min"], f"{len(rows)} rows"
        rows[0].find_element(By.CSS_SELECTOR, "a").click()
        p.settle()
        p.verified()
        t = p.text()
        assert "precert" in t and f["issuer"] in t, t[:300]
        return True
    check("CT log: browse newest first, a precertificate entry's audit path verifies", browse_ct)
    p.shot(shots, "explorer-entry-ct.png")

    def go_to_index():
        p.open("/ctlog")
        box = p.d.find_element(By.ID, "goto")
        box.send_keys("1", Keys.ENTER)
        p.settle()
        assert p.d.current_url.endswith("#/ctlog/entry/1"), p.d.current_url
        p.verified()
        assert "CT log entry 1" in p.text()
        return True
    check("CT log: an entry opened by its index from the browse view, verified", go_to_index)

    def paging():
        p.open("/rekor?before=1")
        rows = p.all("table.entries tbody tr")
        assert len(rows) == 1 and rows[0].find_element(By.CSS_SELECTOR, "td").text == "0"
        return True
    check("paging deep link (?before=1) shows entry 0 alone", paging)

    # --- a bundle from disk ---------------------------------------------------------------------
    def bundle():
        payload = p.open_bundle(f["attest_bundle"], "#dsse-payload").text
        assert '"predicateType": "https://slsa.dev/provenance/v1"' in payload, payload[:200]
        p.verified()
        assert "the bundle's entry is in the log" in p.text()
        return True
    check("a DSSE bundle opened from disk: its entry found and verified in the log, its in-toto payload pretty-printed", bundle)
    p.shot(shots, "explorer-bundle.png")

    def bundle_timestamp(path, want):
        stamp = p.open_bundle(path, "[data-timestamp]")
        assert stamp.get_attribute("data-timestamp") == want, stamp.text[:400]
        return stamp.text

    def bundle_v2():
        stamp = bundle_timestamp(f["v2_bundle"], "verified")
        assert "signed at 20" in stamp and "by a TSA of trusted_root.json" in stamp, stamp[:300]
        assert "Rekor v2 entry" in p.text()
        p.verified()
        return True
    check("a Rekor v2 bundle from sigstore-python: its entry verified in the log (proof from tiles), its RFC 3161 timestamp verified (our TSA's CMS signature, the imprint of its signature)", bundle_v2)
    p.shot(shots, "explorer-bundle-timestamp.png")

    def bundle_v2_tampered_timestamp():
        stamp = bundle_timestamp(f["v2_tampered_bundle"], "not-verified")
        assert "NOT verified" in stamp and "the signed message digest is the hash of the TSTInfo" in stamp, stamp[:400]
        return "the bundle's entry is in the log" in p.text()  # the entry itself still verifies
    check("the same bundle with one digit of its timestamp's time altered: the timestamp is NOT verified", bundle_v2_tampered_timestamp)

    # --- history: entries added since the first visit are proven consistent -------------------
    def history():
        subprocess.run(grow, shell=True, check=True, stdout=subprocess.DEVNULL)
        p.open("/")
        h = [b.get_attribute("data-history") for b in p.all(".badge[data-history]")]
        assert h == ["consistent"] * 3, h
        return True
    check("after new entries, each log's checkpoint is proven consistent with the one this browser saw", history)
    # The screenshots of a log that has grown: a history to chart, a proof with hashes.
    p.shot(shots, "explorer-overview.png")
    p.open("/rekor-v2/entry/0")
    p.shot(shots, "explorer-entry-rekor-v2.png")

    # --- bad input ------------------------------------------------------------------------------
    for what, frag, words in [
        ("a malformed search term", "/search?by=auto&q=%3Cscript%3E", ["neither"]),
        ("a malformed digest", "/search?by=hash&q=sha256%3Axyz", ["64 hex"]),
        ("an unknown UUID", "/rekor/entry/" + "0" * 64, ["rekor"]),
        ("an unknown log index", "/search?by=index&q=99999999", ["rekor"]),
        ("an index that is no number", "/ctlog/entry/abc", ["index"]),
        ("a Rekor v2 index past the tree", "/rekor-v2/entry/99999999", ["no entry"]),
        ("a page that does not exist", "/nowhere", ["no page"]),
        ("a bad paging parameter", "/ctlog?before=x", ["before"]),
    ]:
        check(f"{what}: a clear message in the page", lambda frag=frag, words=words: (p.open(frag), p.error_message(*words))[1])

    def no_markup_injection():
        search(p, "auto", "<img src=x onerror=alert(1)>@x")
        assert not p.all("img"), "the term became markup"
        return True
    check("a search term is shown as text, never as markup", no_markup_injection)

    # --- keyboard and phone -----------------------------------------------------------------------
    def keyboard():
        # A fresh load (not a fragment change, after which focus moves to the new view).
        p.d.get("about:blank")
        p.open("/")
        ActionChains(p.d).send_keys(Keys.TAB).perform()
        assert p.d.switch_to.active_element.get_attribute("id") == "skip", "first Tab: skip link"
        for _ in range(8):  # the skip link, the brand, six views: then the search box
            ActionChains(p.d).send_keys(Keys.TAB).perform()
        assert p.d.switch_to.active_element.get_attribute("id") == "q", "Tab order reaches the search box"
        ActionChains(p.d).send_keys(f["email"], Keys.ENTER).perform()
        p.settle()
        assert "#/search" in p.d.current_url and f["email"] in p.text()
        return True
    check("keyboard: Tab reaches the skip link; typing in search and Enter searches", keyboard)

    def phone():
        p.d.set_window_size(390, 844)
        try:
            p.open(f"/rekor/entry/{f['v1_uuid']}")
            wide = p.d.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
            p.shot(shots, "explorer-phone.png", full=False)
            assert wide <= 1, f"{wide}px wider than the screen"
        finally:
            p.d.set_window_size(1280, 1000)
        return True
    check("on a phone-sized screen the entry view fits the width", phone)

    # --- the tampering proxy: NOT verified -----------------------------------------------------------
    t = Page(driver, f["tampered"])

    def tampered_v1():
        t.open(f"/rekor/entry/{f['v1_uuid']}")
        t.not_verified()
        return True
    check("through a proxy that alters Rekor v1 proofs: NOT verified", tampered_v1)
    t.shot(shots, "explorer-not-verified.png")

    def tampered_v2():
        t.open(f"/rekor-v2/entry/{f['v2_index']}")
        t.not_verified()
        return True
    check("through a proxy that alters Rekor v2 tiles: NOT verified", tampered_v2)

    def tampered_ct():
        t.open("/ctlog/entry/0")
        t.not_verified()
        return True
    check("through a proxy that alters CT audit paths: NOT verified", tampered_ct)

    # --- a real monitor's findings ----------------------------------------------------------------
    w = Page(driver, f["watched"])

    def findings():
        w.open("/findings")
        rows = w.all("#findings tbody tr")
        assert rows, w.text()[:300]
        assert all(r.get_attribute("data-kind") == "identity_match" for r in rows), w.text()[:300]
        first = rows[0].find_elements(By.CSS_SELECTOR, "td")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", first[0].text), f"time {first[0].text!r}"
        assert "certIdentities[0]" in w.text() and f["email"] in w.text(), "the rule and value matched"
        assert w.d.find_elements(By.PARTIAL_LINK_TEXT, "CT log entry "), "the CT log's matches link to CT entries"
        w.d.find_element(By.LINK_TEXT, f"Rekor v2 entry {f['v2_index']}").click()
        w.settle()
        assert w.d.current_url.endswith(f"#/rekor-v2/entry/{f['v2_index']}"), w.d.current_url
        w.verified()
        assert f["email"] in w.text()
        return True
    check("a real monitor's findings: its identity matches listed (time, rule, value), sigstore-python's Rekor v2 entry linked and opened verified", findings)
    if shots:
        w.open("/findings")
        w.shot(shots, "explorer-findings.png")

    # --- a log that is down, and trust from TUF ------------------------------------------------------
    d = Page(driver, f["down"])

    def down():
        d.open("/")
        d.error_message("did not answer")
        assert "TUF targets version" in d.text(), "trusted_root.json from TUF"
        return True
    check("a log that is down: the overview says which and why", down)

    def down_entry():
        d.open(f"/rekor/entry/{f['v1_uuid']}")
        d.error_message("did not answer")
        return True
    check("a log that is down: an entry view says so", down_entry)


if __name__ == "__main__":
    sys.exit(main())
