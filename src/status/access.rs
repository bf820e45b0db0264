//! Who may read the status endpoint. It shows cluster names, weights, health, failure messages,
//! token usage and cost, so it is not for every client that reaches the listener: with
//! `status_token_env` only requests carrying `authorization: Bearer <token>`, otherwise only
//! peers on the loopback interface (an operator's port-forward, a sidecar's own tools).

use crate::secret::Token;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Allowed,
    /// 401: a token is configured and the request did not carry it.
    Unauthorized,
    /// 403: no token is configured and the peer is not on loopback.
    Forbidden,
}

/// `authorization` is the request's header; `peer` the connection's source address as Envoy
/// gives it (`127.0.0.1:5000`, `[::1]:5000`).
pub fn decide(token: Option<&Token>, authorization: Option<&[u8]>, peer: Option<&[u8]>) -> Access {
    match token {
        Some(token) => {
            let given = authorization.and_then(|value| bearer(value));
            if given.is_some_and(|given| token.matches(given)) {
                Access::Allowed
            } else {
                Access::Unauthorized
            }
        }
        None if peer.is_some_and(is_loopback) => Access::Allowed,
        None => Access::Forbidden,
    }
}

/// The credentials of a `Bearer` authorization value (scheme case-insensitive, RFC 9110).
fn bearer(value: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = value.split_at_checked(7)?;
    scheme
        .eq_ignore_ascii_case(b"bearer ")
        .then(|| rest.trim_ascii())
}

/// 127.0.0.0/8, ::1, and IPv4 loopback mapped into IPv6, with or without a port.
fn is_loopback(peer: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(peer) else {
        return false;
    };
    if let Ok(addr) = text.parse::<std::net::SocketAddr>() {
        return is_loopback_ip(addr.ip());
    }
    text.parse::<std::net::IpAddr>().is_ok_and(is_loopback_ip)
}

fn is_loopback_ip(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => v4.is_loopback(),
        std::net::IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_token_only_loopback_peers_get_in() {
        for peer in [
            "127.0.0.1:5000",
            "127.8.9.10:1",
            "[::1]:80",
            "::1",
            "[::ffff:127.0.0.1]:9",
        ] {
            assert_eq!(
                decide(None, None, Some(peer.as_bytes())),
                Access::Allowed,
                "{peer}"
            );
        }
        for peer in [
            "10.0.0.7:5000",
            "[2001:db8::1]:80",
            "0.0.0.0:1",
            "garbage",
            "",
        ] {
            assert_eq!(
                decide(None, None, Some(peer.as_bytes())),
                Access::Forbidden,
                "{peer}"
            );
        }
        assert_eq!(decide(None, None, None), Access::Forbidden);
        assert_eq!(decide(None, None, Some(&[0xff, 0xfe])), Access::Forbidden);
    }

    #[test]
    fn with_a_token_only_its_bearer_gets_in_from_anywhere() {
        let token = Token::new("s3cret-status");
        let loopback = Some(&b"127.0.0.1:1"[..]);
        for good in [
            "Bearer s3cret-status",
            "bearer s3cret-status",
            "BEARER  s3cret-status ",
        ] {
            assert_eq!(
                decide(Some(&token), Some(good.as_bytes()), Some(b"10.1.1.1:5")),
                Access::Allowed,
                "{good}"
            );
        }
        for bad in [
            "Bearer s3cret-statu",
            "s3cret-status",
            "Basic s3cret-status",
            "Bearer",
            "",
        ] {
            assert_eq!(
                decide(Some(&token), Some(bad.as_bytes()), loopback),
                Access::Unauthorized,
                "{bad}"
            );
        }
        assert_eq!(decide(Some(&token), None, loopback), Access::Unauthorized);
    }
}
