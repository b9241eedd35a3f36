//! The URL clients use for a service, as distinct from the address it listens on: behind a
//! load balancer or in a container the two differ, and only the public one may go into trust
//! files, checkpoint origins and `Location` headers.

use std::fmt;
use std::str::FromStr;

/// A service's public base URL: `http` or `https`, a host that is not a wildcard address, no
/// query or fragment; kept without a trailing slash so paths append cleanly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PublicUrl {
    url: String,
    host: String,
}

impl PublicUrl {
    /// The host (lower case; IPv6 in brackets), which names the Rekor logs at their first
    /// start.
    pub(crate) fn host(&self) -> &str {
        &self.host
    }
}

impl fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)
    }
}

/// Why a public URL was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PublicUrlError {
    #[error("{0:?} is not a URL: {1}")]
    Malformed(String, String),
    #[error("{0:?}: the scheme must be http or https")]
    Scheme(String),
    #[error("{0:?} names a wildcard address, which clients cannot reach: give the name or address clients use")]
    Wildcard(String),
    #[error("{0:?}: a public base URL has no query, fragment or credentials")]
    Extra(String),
}

impl FromStr for PublicUrl {
    type Err = PublicUrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parsed =
            url::Url::parse(s).map_err(|e| PublicUrlError::Malformed(s.into(), e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(PublicUrlError::Scheme(s.into()));
        }
        let wildcard = match parsed.host() {
            Some(url::Host::Ipv4(a)) => a.is_unspecified(),
            Some(url::Host::Ipv6(a)) => a.is_unspecified(),
            Some(url::Host::Domain(d)) => d.is_empty(),
            None => true,
        };
        if wildcard {
            return Err(PublicUrlError::Wildcard(s.into()));
        }
        if parsed.query().is_some()
            || parsed.fragment().is_some()
            || !parsed.username().is_empty()
            || parsed.password().is_some()
        {
            return Err(PublicUrlError::Extra(s.into()));
        }
        Ok(Self {
            url: parsed.as_str().trim_end_matches('/').to_owned(),
            host: parsed.host_str().unwrap_or_default().to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_urls_are_normalised_and_wildcards_refused() {
        let url: PublicUrl = "https://Rekor.Example.com/".parse().unwrap();
        assert_eq!(url.to_string(), "https://rekor.example.com");
        assert_eq!(url.host(), "rekor.example.com");
        let url: PublicUrl = "http://[::1]:3000/prefix/".parse().unwrap();
        assert_eq!(url.to_string(), "http://[::1]:3000/prefix");
        assert_eq!(url.host(), "[::1]");
        for wildcard in ["http://0.0.0.0:3000", "http://[::]:3000"] {
            assert!(matches!(
                wildcard.parse::<PublicUrl>(),
                Err(PublicUrlError::Wildcard(_))
            ));
        }
        assert!(matches!(
            "ftp://rekor.example".parse::<PublicUrl>(),
            Err(PublicUrlError::Scheme(_))
        ));
        assert!(matches!(
            "rekor.example".parse::<PublicUrl>(),
            Err(PublicUrlError::Malformed(..))
        ));
        assert!(matches!(
            "https://rekor.example/?x=1".parse::<PublicUrl>(),
            Err(PublicUrlError::Extra(_))
        ));
    }
}
