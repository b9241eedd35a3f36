#!/usr/bin/env bash
# Makes Chromium and its WebDriver available for the browser suite (scripts/interop/explorer.sh):
# installs the Debian packages chromium and chromium-driver when missing, with apt-get (as
# root, or through sudo), and prints the two paths, one a line: the browser, then the driver.
#
#   bash scripts/chromium.sh
set -euo pipefail

find_tools() {
    local browser driver
    browser=$(command -v chromium || command -v chromium-browser) || return 1
    driver=$(command -v chromedriver || { [[ -x /usr/lib/chromium/chromedriver ]] && echo /usr/lib/chromium/chromedriver; }) || return 1
    printf '%s\n%s\n' "$browser" "$driver"
}

if ! find_tools >/dev/null; then
    sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo -n)
    command -v apt-get >/dev/null || {
        echo "chromium: Chromium is not installed and there is no apt-get: install chromium and chromium-driver" >&2
        exit 1
    }
    echo "chromium: installing chromium and chromium-driver" >&2
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q chromium chromium-driver >/dev/null ||
        { DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get update -q >/dev/null &&
            DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q chromium chromium-driver >/dev/null; }
fi
find_tools
