//! The page and its assets, embedded in the binary: nothing the explorer shows is fetched from
//! anywhere but the explorer itself.

/// An embedded file.
pub(crate) struct Asset {
    pub(crate) content_type: &'static str,
    pub(crate) body: &'static str,
}

macro_rules! assets {
    ($($name:literal => $type:literal),* $(,)?) => {
        /// Every asset, by file name.
        const ASSETS: &[(&str, Asset)] = &[
            $(($name, Asset { content_type: $type, body: include_str!(concat!("../assets/", $name)) }),)*
        ];
    };
}

assets! {
    "index.html" => "text/html; charset=utf-8",
    "style.css" => "text/css; charset=utf-8",
    "app.js" => "text/javascript; charset=utf-8",
    "views.js" => "text/javascript; charset=utf-8",
    "logs.js" => "text/javascript; charset=utf-8",
    "verify.js" => "text/javascript; charset=utf-8",
    "merkle.js" => "text/javascript; charset=utf-8",
    "asn1.js" => "text/javascript; charset=utf-8",
    "charts.js" => "text/javascript; charset=utf-8",
    "timestamp.js" => "text/javascript; charset=utf-8",
    "util.js" => "text/javascript; charset=utf-8",
}

/// The asset called `name`, if there is one.
pub(crate) fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|(n, _)| *n == name).map(|(_, a)| a)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every module the page imports is served by the explorer, and nothing the page loads or
    /// fetches is named by an absolute URL (the stack runs air-gapped).
    #[test]
    fn imports_resolve_and_nothing_is_remote() {
        for (name, asset) in ASSETS {
            for line in asset.body.lines() {
                let line = line.trim();
                // A multi-line import names its module on its `} from "…"` line.
                let names_module = line.contains(['"', '\'']);
                if (line.starts_with("import ") || line.starts_with("} from ")) && names_module {
                    let module = line.rsplit(['"', '\'']).nth(1).unwrap_or("");
                    let file = module.strip_prefix("./").unwrap_or_else(|| {
                        panic!("{name} imports {module:?}, not a module of its own")
                    });
                    assert!(find(file).is_some(), "{name} imports {module}");
                }
            }
            for remote in [
                "src=\"http",
                "href=\"http",
                "fetch(\"http",
                "fetch(`http",
                "url(http",
                "@import",
            ] {
                assert!(
                    !asset.body.contains(remote),
                    "{name} loads something remote: {remote}"
                );
            }
        }
        let index = find("index.html").unwrap().body;
        assert!(index.contains("src=\"/assets/app.js\""));
        assert!(index.contains("href=\"/assets/style.css\""));
    }
}
