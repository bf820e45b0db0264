//! This machine's own non-loopback address, to reach a listener that binds every interface as
//! a peer that is not on loopback.

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::process::Command;

/// An IPv4 address of this machine outside 127.0.0.0/8, or `None` when it has none. A UDP
/// socket "connected" to a documentation address shows the source address the kernel would
/// use (no packet is sent); without a route, `hostname -I` lists the interfaces' addresses.
pub fn non_loopback_ipv4() -> Option<Ipv4Addr> {
    let by_route = UdpSocket::bind("0.0.0.0:0")
        .and_then(|socket| {
            socket.connect("192.0.2.1:9")?;
            socket.local_addr()
        })
        .ok()
        .and_then(|addr| match addr.ip() {
            IpAddr::V4(v4) if !v4.is_loopback() && !v4.is_unspecified() => Some(v4),
            _ => None,
        });
    by_route.or_else(|| {
        let out = Command::new("hostname").arg("-I").output().ok()?;
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter_map(|word| word.parse::<Ipv4Addr>().ok())
            .find(|ip| !ip.is_loopback() && !ip.is_unspecified())
    })
}
