//! A worker's CPU time and resident memory, read from `/proc/<pid>/stat` (one small read, no
//! syscall beyond open/read/close): cheap enough to call every second for every worker.

use std::io;
use std::sync::OnceLock;

use nix::unistd::{sysconf, SysconfVar};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcStats {
    /// CPU time in user mode, in microseconds.
    pub user_us: u64,
    /// CPU time in kernel mode, in microseconds.
    pub system_us: u64,
    /// Resident set size in bytes.
    pub rss_bytes: u64,
}

/// Clock ticks per second and the page size, read once.
fn units() -> (u64, u64) {
    static UNITS: OnceLock<(u64, u64)> = OnceLock::new();
    *UNITS.get_or_init(|| {
        let get = |var, default: u64| match sysconf(var) {
            Ok(Some(v)) if v > 0 => v as u64,
            _ => default,
        };
        (
            get(SysconfVar::CLK_TCK, 100),
            get(SysconfVar::PAGE_SIZE, 4096),
        )
    })
}

/// Reads the figures of process `pid`.
pub fn read(pid: i32) -> io::Result<ProcStats> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse(&text).ok_or_else(|| io::Error::from(io::ErrorKind::InvalidData))
}

/// Parses a `/proc/<pid>/stat` line: the command name (field 2) is in parentheses and may hold
/// spaces and parentheses itself, so the fields are counted from the last `)`. utime and stime
/// are fields 14 and 15, rss (in pages) field 24.
fn parse(text: &str) -> Option<ProcStats> {
    let rest = &text[text.rfind(')')? + 1..];
    // `rest` starts at field 3 (state).
    let mut fields = rest.split_ascii_whitespace();
    let mut nth = |n: usize| -> Option<u64> { fields.nth(n)?.parse().ok() };
    let utime = nth(14 - 3)?;
    let stime = nth(0)?;
    let rss_pages = nth(24 - 16)?;
    let (ticks, page) = units();
    let us = |t: u64| t.saturating_mul(1_000_000) / ticks;
    Some(ProcStats {
        user_us: us(utime),
        system_us: us(stime),
        rss_bytes: rss_pages.saturating_mul(page),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_counted_from_the_last_parenthesis() {
        let (ticks, page) = units();
        let line = "4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 1 0 \
                    12345 1000000 321 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        let s = parse(line).expect("parsed");
        assert_eq!(s.user_us, 250 * 1_000_000 / ticks);
        assert_eq!(s.system_us, 75 * 1_000_000 / ticks);
        assert_eq!(s.rss_bytes, 321 * page);
        assert_eq!(parse("4242 (x"), None);
        assert_eq!(parse("4242 (x) S 1 2"), None);
    }

    #[test]
    fn this_process_has_memory_and_cpu() {
        // Burn a little CPU so user time is not zero at one tick's resolution.
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < std::time::Duration::from_millis(30) {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        let s = read(std::process::id() as i32).expect("own stats");
        assert!(x > 0);
        assert!(s.rss_bytes > 1 << 20, "rss {}", s.rss_bytes);
        assert!(s.user_us + s.system_us > 0);
        assert!(read(-1).is_err());
    }
}
