//! A small QMP client (QEMU's JSON machine protocol) over the instance's
//! Unix socket: the greeting, `qmp_capabilities`, then commands, with the
//! asynchronous events that arrive in between kept aside.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    /// Events read while waiting for a command's answer.
    pub events: Vec<String>,
}

fn other(message: impl Into<String>) -> std::io::Error {
    std::io::Error::other(message.into())
}

impl Qmp {
    /// Connects and negotiates capabilities; every read waits at most
    /// `timeout`.
    pub fn connect(socket: &Path, timeout: Duration) -> std::io::Result<Self> {
        let stream = UnixStream::connect(socket)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        let mut qmp = Qmp {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
            events: Vec::new(),
        };
        let greeting = qmp.read()?;
        if greeting.get("QMP").is_none() {
            return Err(other(format!("not a QMP greeting: {greeting}")));
        }
        qmp.execute("qmp_capabilities", None)?;
        Ok(qmp)
    }

    fn read(&mut self) -> std::io::Result<Value> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        serde_json::from_str(&line).map_err(|e| other(format!("bad QMP message: {e}")))
    }

    /// Runs a command and returns its `return` value.
    pub fn execute(&mut self, command: &str, arguments: Option<Value>) -> std::io::Result<Value> {
        let mut message = json!({ "execute": command });
        if let Some(arguments) = arguments {
            message["arguments"] = arguments;
        }
        writeln!(self.writer, "{message}")?;
        loop {
            let answer = self.read()?;
            if let Some(result) = answer.get("return") {
                return Ok(result.clone());
            }
            if let Some(error) = answer.get("error") {
                return Err(other(format!("QMP {command}: {error}")));
            }
            if let Some(event) = answer.get("event").and_then(Value::as_str) {
                self.events.push(event.to_owned());
            }
        }
    }

    /// The guest's run state (`running`, `paused`, `shutdown`, …).
    pub fn status(&mut self) -> std::io::Result<String> {
        let status = self.execute("query-status", None)?;
        Ok(status["status"].as_str().unwrap_or_default().to_owned())
    }

    /// Waits for `event` until `deadline`; whether it came.
    pub fn wait_for_event(&mut self, event: &str, deadline: Instant) -> bool {
        loop {
            if self.events.iter().any(|e| e == event) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            match self.read() {
                Ok(message) => {
                    if let Some(name) = message.get("event").and_then(Value::as_str) {
                        self.events.push(name.to_owned());
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => return false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    /// A fake QEMU: greets, then answers each command from `script`
    /// (`None` for a plain empty return), sending the events listed first.
    fn fake_qemu(path: &Path, script: Vec<(&'static str, Vec<&'static str>, Value)>) {
        let listener = UnixListener::bind(path).unwrap();
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut writer = stream;
            writeln!(
                writer,
                r#"{{"QMP": {{"version": {{}}, "capabilities": []}}}}"#
            )
            .unwrap();
            for (expected, events, answer) in script {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let got: Value = serde_json::from_str(&line).unwrap();
                assert_eq!(got["execute"], expected, "{line}");
                for event in events {
                    writeln!(writer, r#"{{"event": "{event}", "timestamp": {{}}}}"#).unwrap();
                }
                writeln!(writer, "{}", json!({ "return": answer })).unwrap();
            }
            // Keep the connection open a moment for late reads.
            std::thread::sleep(Duration::from_millis(200));
        });
    }

    #[test]
    fn negotiates_asks_status_and_keeps_events() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("qmp.sock");
        fake_qemu(
            &socket,
            vec![
                ("qmp_capabilities", vec![], json!({})),
                (
                    "query-status",
                    vec!["RESUME"],
                    json!({"status": "running", "running": true}),
                ),
                ("system_powerdown", vec!["POWERDOWN", "SHUTDOWN"], json!({})),
            ],
        );
        let mut qmp = Qmp::connect(&socket, Duration::from_secs(2)).unwrap();
        assert_eq!(qmp.status().unwrap(), "running");
        qmp.execute("system_powerdown", None).unwrap();
        assert_eq!(qmp.events, ["RESUME", "POWERDOWN", "SHUTDOWN"]);
        assert!(qmp.wait_for_event("SHUTDOWN", Instant::now() + Duration::from_secs(1)));
        assert!(!qmp.wait_for_event("RESET", Instant::now() + Duration::from_millis(50)));
    }

    #[test]
    fn errors_and_strangers_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("qmp.sock");
        let listener = UnixListener::bind(&socket).unwrap();
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            writeln!(stream, r#"{{"hello": "I am not QEMU"}}"#).unwrap();
        });
        let error = Qmp::connect(&socket, Duration::from_secs(2)).err().unwrap();
        assert!(error.to_string().contains("not a QMP greeting"), "{error}");

        let socket = dir.path().join("qmp2.sock");
        let listener = UnixListener::bind(&socket).unwrap();
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut writer = stream;
            writeln!(writer, r#"{{"QMP": {{}}}}"#).unwrap();
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            writeln!(writer, r#"{{"return": {{}}}}"#).unwrap();
            line.clear();
            reader.read_line(&mut line).unwrap();
            writeln!(
                writer,
                r#"{{"error": {{"class": "CommandNotFound", "desc": "no"}}}}"#
            )
            .unwrap();
        });
        let mut qmp = Qmp::connect(&socket, Duration::from_secs(2)).unwrap();
        let error = qmp.execute("bogus", None).err().unwrap();
        assert!(error.to_string().contains("CommandNotFound"), "{error}");
    }
}
