//! The client's address: the socket's peer, or, behind one of TRUSTED_PROXIES, the address that
//! proxy saw (the rightmost X-Forwarded-For entry that is not itself a trusted proxy). A client
//! can write any X-Forwarded-For it likes, so the header is believed only from those proxies.

use std::net::IpAddr;

use actix_web::http::header::HeaderMap;
use actix_web::HttpRequest;

/// The client's address for `req`, for rate limits and the logs. Addresses are canonical: a
/// dual-stack listener (`HOST=::`) sees an IPv4 client as `::ffff:a.b.c.d`, which is that IPv4
/// address, not an IPv6 one.
pub fn client_ip(req: &HttpRequest, trusted_proxies: &[IpAddr]) -> Option<IpAddr> {
    address(
        req.peer_addr().map(|address| address.ip()),
        req.headers(),
        trusted_proxies,
    )
}

fn address(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpAddr]) -> Option<IpAddr> {
    let peer = peer?.to_canonical();
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|entry| entry.trim().parse::<IpAddr>().ok())
        .map(|ip| ip.to_canonical())
        .collect();
    Some(
        forwarded
            .iter()
            .rev()
            .find(|ip| !trusted.contains(ip))
            .or(forwarded.first())
            .copied()
            .unwrap_or(peer),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            actix_web::http::header::HeaderName::from_static("x-forwarded-for"),
            HeaderValue::from_str(value).unwrap(),
        );
        headers
    }

    #[test]
    fn x_forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let proxy: IpAddr = "127.0.0.1".parse().unwrap();
        let client: IpAddr = "203.0.113.7".parse().unwrap();
        let headers = forwarded("198.51.100.1, 203.0.113.7");
        assert_eq!(address(Some(proxy), &headers, &[proxy]), Some(client));
        assert_eq!(address(Some(proxy), &headers, &[]), Some(proxy));
        let stranger: IpAddr = "192.0.2.9".parse().unwrap();
        assert_eq!(address(Some(stranger), &headers, &[proxy]), Some(stranger));
    }

    #[test]
    fn an_ipv4_client_of_a_dual_stack_listener_is_its_ipv4_address() {
        let proxy: IpAddr = "127.0.0.1".parse().unwrap();
        let mapped_proxy: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        let headers = forwarded("::ffff:203.0.113.7");
        let client: IpAddr = "203.0.113.7".parse().unwrap();
        assert_eq!(
            address(Some(mapped_proxy), &headers, &[proxy]),
            Some(client)
        );
        let mapped_client: IpAddr = "::ffff:192.0.2.9".parse().unwrap();
        assert_eq!(
            address(Some(mapped_client), &HeaderMap::new(), &[]),
            Some("192.0.2.9".parse().unwrap())
        );
    }
}
