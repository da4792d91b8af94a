//! Name resolution for the HTTP transport.
//!
//! ureq resolves the server's name before every request, pooled
//! connection or not, and with a timeout set it does so on a new thread
//! each time. A long-polling client makes a request per reply, so that
//! thread sat on the critical path of every batch. Here an IP address in
//! the URL needs no lookup at all, and a host name's addresses are looked
//! up (by ureq's own resolver, timeout and all) once and reused for a
//! short while.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// How long a host name's addresses are reused.
pub const NAME_TTL: Duration = Duration::from_secs(30);
/// Most host names remembered (a session knows at most a few servers).
const MAX_NAMES: usize = 64;

/// A resolver that skips lookups of IP addresses and reuses host names'
/// addresses for [`NAME_TTL`].
#[derive(Debug, Default)]
pub struct ReusingResolver {
    lookup: DefaultResolver,
    names: Mutex<HashMap<String, (Instant, ResolvedSocketAddrs)>>,
}

impl ReusingResolver {
    /// A resolver with nothing remembered.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Resolver for ReusingResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        // "host:port", the port defaulting by scheme, as ureq spells it.
        let Some(key) = uri
            .scheme()
            .zip(uri.authority())
            .and_then(|(scheme, authority)| DefaultResolver::host_and_port(scheme, authority))
        else {
            return self.lookup.resolve(uri, config, timeout);
        };
        // An IP address (IPv6 in brackets, as URLs write it) needs no lookup.
        if let Ok(addr) = key.parse::<SocketAddr>() {
            let mut addrs = self.empty();
            addrs.push(addr);
            return Ok(addrs);
        }
        let now = Instant::now();
        if let Ok(names) = self.names.lock()
            && let Some((at, addrs)) = names.get(&key)
            && now.duration_since(*at) < NAME_TTL
        {
            return Ok(addrs.clone());
        }
        let addrs = self.lookup.resolve(uri, config, timeout)?;
        if let Ok(mut names) = self.names.lock() {
            if names.len() >= MAX_NAMES {
                names.retain(|_, (at, _)| now.duration_since(*at) < NAME_TTL);
                if names.len() >= MAX_NAMES {
                    names.clear();
                }
            }
            names.insert(key, (now, addrs.clone()));
        }
        Ok(addrs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(resolver: &ReusingResolver, url: &str) -> Result<Vec<SocketAddr>, ureq::Error> {
        let uri: Uri = url.parse().expect("uri");
        let config = Config::default();
        let timeout = NextTimeout {
            after: ureq::unversioned::transport::time::Duration::Exact(Duration::from_secs(5)),
            ..NextTimeout::default()
        };
        resolver
            .resolve(&uri, &config, timeout)
            .map(|addrs| addrs.iter().copied().collect())
    }

    #[test]
    fn addresses_need_no_lookup() {
        let resolver = ReusingResolver::new();
        assert_eq!(
            resolve(&resolver, "http://127.0.0.1:8080/cometd").expect("resolves"),
            vec!["127.0.0.1:8080".parse::<SocketAddr>().expect("addr")]
        );
        assert_eq!(
            resolve(&resolver, "https://[::1]/cometd").expect("resolves"),
            vec!["[::1]:443".parse::<SocketAddr>().expect("addr")]
        );
        assert!(resolver.names.lock().expect("lock").is_empty());
    }

    #[test]
    fn names_are_looked_up_once_and_reused() {
        let resolver = ReusingResolver::new();
        let first = resolve(&resolver, "http://localhost:8080/cometd").expect("resolves");
        assert!(!first.is_empty());
        assert!(
            first
                .iter()
                .all(|a| a.port() == 8080 && a.ip().is_loopback())
        );
        assert_eq!(resolver.names.lock().expect("lock").len(), 1);
        assert_eq!(
            resolve(&resolver, "http://localhost:8080/other").expect("resolves"),
            first
        );
    }
}
