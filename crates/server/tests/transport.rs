//! What a slow or greedy client meets at the real listener: headers that
//! never finish, bodies that stop arriving, more connections than allowed.
//! Raw TCP against the running binary, since the router alone has none of it.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::process::start_sqlite_server;

/// Reads until the server answers or closes; `None` when it did neither
/// within `wait`.
fn answer_within(stream: &mut TcpStream, wait: Duration) -> Option<String> {
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut buf = [0u8; 4096];
    match stream.read(&mut buf) {
        Ok(n) => Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => None,
        // Reset by the server: it closed the connection.
        Err(_) => Some(String::new()),
    }
}

#[test]
fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = start_sqlite_server(dir.path(), &["--header-read-timeout-secs", "1"]);

    // Slowloris: a request line and one header, then nothing.
    let mut slow = TcpStream::connect(("127.0.0.1", port)).unwrap();
    slow.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: t\r\n")
        .unwrap();
    let answer = answer_within(&mut slow, Duration::from_secs(10))
        .expect("the server closes a connection whose headers never end");
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );

    // One that connects and sends nothing at all goes the same way.
    let mut silent = TcpStream::connect(("127.0.0.1", port)).unwrap();
    assert!(answer_within(&mut silent, Duration::from_secs(10)).is_some());
}

#[test]
fn a_body_that_stops_arriving_ends_the_request() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = start_sqlite_server(dir.path(), &["--body-idle-timeout-secs", "1"]);
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .write_all(
            b"POST /api/v1/sessions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"email\":",
        )
        .unwrap();
    let answer = answer_within(&mut stream, Duration::from_secs(10))
        .expect("the request ends when its body stops");
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 4"),
        "{answer}"
    );
}

#[test]
fn connections_beyond_the_limit_wait_until_one_closes() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = start_sqlite_server(
        dir.path(),
        &["--max-connections", "2", "--header-read-timeout-secs", "60"],
    );
    // Two idle connections take both places (the health check that
    // start_sqlite_server made has closed).
    let first = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let _second = TcpStream::connect(("127.0.0.1", port)).unwrap();
    std::thread::sleep(Duration::from_millis(300));

    let mut third = TcpStream::connect(("127.0.0.1", port)).unwrap();
    third
        .write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(
        answer_within(&mut third, Duration::from_secs(1)),
        None,
        "a third connection is not served while two are open"
    );
    drop(first);
    let answer =
        answer_within(&mut third, Duration::from_secs(10)).expect("served once a place is free");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
