//! Where a webhook may send: a URL of an allowed scheme whose host is on
//! the public internet, so that whoever may create a webhook cannot make
//! the server post to its own loopback, the local network or a cloud
//! metadata address (server-side request forgery).
//!
//! The host is checked twice: when the webhook is created or changed (its
//! name resolved, every address public), and again at every delivery, by
//! the resolver the delivery connects through ([`PublicOnly`]), so a name
//! that resolves to a public address at creation and to a private one
//! later (DNS rebinding) still reaches nothing private: the addresses
//! checked are the addresses connected to, with no second lookup.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

use runlog::api::error::ApiError;

/// Whether an address is on the public internet: not loopback, private,
/// shared (CGNAT), link-local, documentation, benchmarking, reserved,
/// multicast or unspecified, looking through IPv6's forms that carry an
/// IPv4 address (mapped, 6to4, NAT64).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let private = a == 0
        || a == 10
        || a == 127
        || (a == 100 && (64..128).contains(&b))
        || (a == 169 && b == 254)
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 192 && b == 0 && c == 2)
        || (a == 192 && b == 88 && c == 99)
        || (a == 192 && b == 168)
        || (a == 198 && (18..20).contains(&b))
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
        || a >= 224;
    !private
}

/// The IPv4 address an IPv6 one carries: IPv4-mapped (`::ffff:a.b.c.d`),
/// IPv4-compatible (`::a.b.c.d`), 6to4 (`2002:aabb:ccdd::`) or NAT64
/// (`64:ff9b::a.b.c.d`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail = || Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if s[..5] == [0; 5] && (s[5] == 0xffff || (s[5] == 0 && (s[6] != 0 || s[7] > 1))) {
        return Some(tail());
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(tail());
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    None
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let private = ip.is_unspecified()
        || ip.is_loopback()
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local
        || (s[0] & 0xff00) == 0xff00 // multicast
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]) // discard
        || (s[0] == 0x2001 && s[1] < 0x0200); // IETF protocol assignments
    !private
}

/// A webhook URL, checked: an allowed scheme, a host, a canonical IP
/// literal when the host is numeric, and (unless private addresses are
/// allowed) every address it resolves to public. MLflow's messages.
pub fn check_url(url: &str, schemes: &[String], allow_private: bool) -> Result<(), ApiError> {
    if url.trim().is_empty() {
        return Err(ApiError::invalid(format!(
            "Webhook URL cannot be empty or just whitespace: {url:?}"
        )));
    }
    let uri: axum::http::Uri = url
        .parse()
        .map_err(|e| ApiError::invalid(format!("Invalid webhook URL {url:?}: {e}")))?;
    let scheme = uri.scheme_str().unwrap_or("");
    if !schemes.iter().any(|s| s == scheme) {
        return Err(ApiError::invalid(format!(
            "Invalid webhook URL scheme: {scheme:?}. Allowed schemes are: {}.",
            schemes.join(", ")
        )));
    }
    let host = uri.host().unwrap_or("");
    if host.is_empty() {
        return Err(ApiError::invalid(format!(
            "Webhook URL must include a hostname: {url:?}"
        )));
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let numeric = bare.contains(':') || bare.replace('.', "").bytes().all(|b| b.is_ascii_digit());
    if numeric && bare.parse::<IpAddr>().is_err() {
        return Err(ApiError::invalid(format!(
            "Webhook URL host {bare:?} is not a canonical IP address literal."
        )));
    }
    if allow_private {
        return Ok(());
    }
    let port = uri
        .port_u16()
        .unwrap_or(if scheme == "https" { 443 } else { 80 });
    let addresses: Vec<SocketAddr> = (bare, port)
        .to_socket_addrs()
        .map_err(|e| {
            ApiError::invalid(format!(
                "Webhook URL hostname {bare:?} does not resolve: {e}"
            ))
        })?
        .collect();
    if addresses.is_empty() {
        return Err(ApiError::invalid(format!(
            "Webhook URL hostname {bare:?} does not resolve"
        )));
    }
    if let Some(a) = addresses.iter().find(|a| !is_public(a.ip())) {
        return Err(ApiError::invalid(format!(
            "Webhook URL hostname {bare:?} resolves to {}, which is not a public IP address",
            a.ip()
        )));
    }
    Ok(())
}

/// ureq's name resolver, keeping only public addresses: a delivery never
/// connects to a private one, whatever the name resolves to now.
#[derive(Debug, Default)]
pub struct PublicOnly {
    inner: ureq::unversioned::resolver::DefaultResolver,
}

impl ureq::unversioned::resolver::Resolver for PublicOnly {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let all = self.inner.resolve(uri, config, timeout)?;
        let mut public = self.empty();
        for address in all.iter().filter(|a| is_public(a.ip())) {
            public.push(*address);
        }
        if public.is_empty() {
            let seen: Vec<String> = all.iter().map(|a| a.ip().to_string()).collect();
            return Err(ureq::Error::Io(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!(
                    "webhook connection blocked: {} resolves to {}, not a public IP address",
                    uri.host().unwrap_or(""),
                    seen.join(", ")
                ),
            )));
        }
        Ok(public)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(text: &str) -> bool {
        is_public(text.parse().unwrap())
    }

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
        ] {
            assert!(!public(ip), "{ip} is not public");
        }
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(public(ip), "{ip} is public");
        }
    }

    #[test]
    fn urls_are_checked_as_mlflow_checks_them() {
        let https = ["https".to_owned()];
        let both = ["http".to_owned(), "https".to_owned()];
        let refused = |url: &str, schemes: &[String], private: bool| {
            check_url(url, schemes, private).unwrap_err().message
        };
        assert!(refused("ftp://x", &both, true).starts_with("Invalid webhook URL scheme: \"ftp\""));
        assert!(refused("http://example.com", &https, true).contains("scheme"));
        assert!(refused("  ", &https, true).contains("empty"));
        assert!(refused("http://127.1/", &both, true).contains("canonical"));
        assert!(refused("http://0177.0.0.1/", &both, true).contains("canonical"));
        assert!(refused("http://127.0.0.1:9/", &both, false).contains("not a public"));
        assert!(refused("http://[::1]:9/", &both, false).contains("not a public"));
        assert!(refused("http://localhost:9/", &both, false).contains("not a public"));
        assert!(check_url("http://127.0.0.1:9/hook", &both, true).is_ok());
        assert!(check_url("http://[::1]:9/hook", &both, true).is_ok());
    }
}
