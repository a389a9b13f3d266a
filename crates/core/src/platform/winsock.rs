//! Winsock error codes and what they mean, compiled on every platform (they are only numbers)
//! so the mapping is tested on the machines that build the project, against the Unix one.

use super::ConnectErrorKind;

// Winsock error codes (winerror.h); spelled out to keep this module free of a Windows-only crate.
pub const WSAEACCES: i32 = 10013;
pub const WSAEMFILE: i32 = 10024;
pub const WSAEWOULDBLOCK: i32 = 10035;
pub const WSAEINPROGRESS: i32 = 10036;
pub const WSAEALREADY: i32 = 10037;
pub const WSAEADDRINUSE: i32 = 10048;
pub const WSAEADDRNOTAVAIL: i32 = 10049;
pub const WSAENETDOWN: i32 = 10050;
pub const WSAENETUNREACH: i32 = 10051;
pub const WSAECONNRESET: i32 = 10054;
pub const WSAENOBUFS: i32 = 10055;
pub const WSAETIMEDOUT: i32 = 10060;
pub const WSAECONNREFUSED: i32 = 10061;
pub const WSAEHOSTDOWN: i32 = 10064;
pub const WSAEHOSTUNREACH: i32 = 10065;

pub fn classify_code(code: i32) -> ConnectErrorKind {
    use ConnectErrorKind as K;
    match code {
        WSAECONNREFUSED => K::Refused,
        WSAETIMEDOUT => K::TimedOut,
        WSAEHOSTUNREACH | WSAEHOSTDOWN => K::HostUnreachable,
        WSAENETUNREACH => K::NetUnreachable,
        WSAENETDOWN => K::NetDown,
        WSAEACCES => K::LocalPolicy,
        WSAEMFILE => K::NoFileDescriptors,
        WSAEADDRNOTAVAIL | WSAEADDRINUSE => K::NoLocalPorts,
        WSAENOBUFS => K::NoBuffers,
        WSAECONNRESET => K::Reset,
        _ => K::Other,
    }
}

pub fn is_in_progress_code(code: i32) -> bool {
    matches!(code, WSAEWOULDBLOCK | WSAEINPROGRESS | WSAEALREADY)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// Each Winsock code must mean exactly what its Unix counterpart means.
    #[test]
    fn winsock_codes_classify_like_their_unix_counterparts() {
        for (wsa, errno) in [
            (WSAECONNREFUSED, libc::ECONNREFUSED),
            (WSAETIMEDOUT, libc::ETIMEDOUT),
            (WSAEHOSTUNREACH, libc::EHOSTUNREACH),
            (WSAEHOSTDOWN, libc::EHOSTDOWN),
            (WSAENETUNREACH, libc::ENETUNREACH),
            (WSAENETDOWN, libc::ENETDOWN),
            (WSAEACCES, libc::EACCES),
            (WSAEMFILE, libc::EMFILE),
            (WSAEADDRINUSE, libc::EADDRINUSE),
            (WSAEADDRNOTAVAIL, libc::EADDRNOTAVAIL),
            (WSAENOBUFS, libc::ENOBUFS),
            (WSAECONNRESET, libc::ECONNRESET),
        ] {
            assert_eq!(
                classify_code(wsa),
                super::super::unix::classify_code(errno),
                "Winsock {wsa} vs errno {errno}"
            );
        }
        for wsa in [WSAEWOULDBLOCK, WSAEINPROGRESS, WSAEALREADY] {
            assert!(is_in_progress_code(wsa));
        }
        assert_eq!(classify_code(10022), ConnectErrorKind::Other, "WSAEINVAL");
    }
}
