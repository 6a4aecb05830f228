//! Where webhooks may go, and the client that takes them there. A
//! subscription's URL names a host that anyone with an admin token chose;
//! unless the operator allows it, it may not reach this machine or the
//! networks behind it: loopback, private, link-local and other non-public
//! addresses are refused when the URL is given, and again at every
//! connection (a name may resolve elsewhere later). Redirects are not
//! followed, and time and answers are bounded.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;

/// A 2xx within this long is a delivery; anything slower, a failure.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a connection may take to open.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The most of an answer's body that is read.
pub const RESPONSE_READ_LIMIT: u64 = 4096;

/// What the operator allows webhooks to reach.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reach {
    /// Loopback, private and link-local addresses too.
    pub private: bool,
    /// `http://` URLs too, not only `https://`.
    pub http: bool,
}

/// The URL, if a webhook may be sent there; else why not, in words. With
/// `resolve`, a host name is resolved and each of its addresses checked
/// (when the URL is given); without, only an address written in the URL
/// is (at delivery, where the client's resolver checks names).
pub fn check_url(text: &str, reach: Reach, resolve: bool) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|error| format!("is not an absolute URL: {error}"))?;
    match url.scheme() {
        "https" => {}
        "http" if reach.http => {}
        "http" => {
            return Err("must be https (this server does not send webhooks over plain http)".into())
        }
        other => return Err(format!("must be https, not {other}")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("may not carry a user name or password".into());
    }
    if url.fragment().is_some() {
        return Err("may not have a fragment (#...)".into());
    }
    let Some(host) = url.host_str() else {
        return Err("has no host".into());
    };
    if reach.private {
        return Ok(url);
    }
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(address) = host.parse::<IpAddr>() {
        return if is_public(address) {
            Ok(url)
        } else {
            Err(format!(
                "reaches {address}, a loopback, private or link-local address"
            ))
        };
    }
    if resolve {
        let port = url.port_or_known_default().unwrap_or(443);
        let addresses: Vec<SocketAddr> = (host, port)
            .to_socket_addrs()
            .map_err(|error| format!("names a host that does not resolve: {error}"))?
            .collect();
        if let Some(address) = addresses.iter().find(|a| !is_public(a.ip())) {
            return Err(format!(
                "names a host that resolves to {}, a loopback, private or link-local address",
                address.ip()
            ));
        }
    }
    Ok(url)
}

/// Whether an address is on the public internet: not loopback, private,
/// link-local, shared (carrier NAT), unspecified, multicast, broadcast or
/// documentation; an IPv4 address inside IPv6 is judged as IPv4.
pub fn is_public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                // 100.64.0.0/10, shared by carriers' NAT.
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public(IpAddr::V4(v4)),
            None => {
                !(v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || v6.is_unique_local()
                    || v6.is_unicast_link_local())
            }
        },
    }
}

/// The client deliveries are sent with.
pub fn client(reach: Reach) -> reqwest::Result<reqwest::blocking::Client> {
    let builder = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(DELIVERY_TIMEOUT)
        .user_agent(concat!(
            "inventory-api-webhooks/",
            env!("CARGO_PKG_VERSION")
        ));
    if reach.private {
        builder.build()
    } else {
        builder.dns_resolver(Arc::new(PublicOnly)).build()
    }
}

/// A resolver that answers only a name's public addresses, so that a name
/// that once resolved outside cannot later lead inside.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let public: Vec<SocketAddr> = found.filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            let addrs: Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHUT: Reach = Reach {
        private: false,
        http: false,
    };

    #[test]
    fn inside_addresses_are_refused_and_outside_ones_taken() {
        for inside in [
            "https://127.0.0.1/",
            "https://10.1.2.3/",
            "https://172.16.0.1/",
            "https://192.168.1.1/",
            "https://169.254.169.254/latest",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://[::1]/",
            "https://[fe80::1]/",
            "https://[fd00::1]/",
            "https://[::ffff:127.0.0.1]/",
        ] {
            assert!(check_url(inside, SHUT, false).is_err(), "{inside}");
        }
        assert!(check_url("https://93.184.215.14/hook", SHUT, false).is_ok());
        assert!(check_url("https://[2606:4700::1111]/", SHUT, false).is_ok());
    }

    #[test]
    fn only_https_without_credentials_or_fragment() {
        assert!(check_url("http://93.184.215.14/", SHUT, false).is_err());
        assert!(check_url("ftp://93.184.215.14/", SHUT, false).is_err());
        assert!(check_url("https://user:pw@93.184.215.14/", SHUT, false).is_err());
        assert!(check_url("https://93.184.215.14/#x", SHUT, false).is_err());
        assert!(check_url("/relative", SHUT, false).is_err());
        let open = Reach {
            private: true,
            http: true,
        };
        assert!(check_url("http://127.0.0.1:8080/hook", open, false).is_ok());
    }
}
