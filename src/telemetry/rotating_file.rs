//! A log file that rotates by size with the semantics of Python's `RotatingFileHandler`.
//!
//! Written by hand (about fifty lines) because the crates that rotate by size either name their
//! backups differently or may split or overshoot a line: before a line would take the file past
//! `max_bytes`, `app.log` becomes `app.log.1`, older backups shift up (`.1` → `.2` …), at most
//! `backup_count` backups are kept, lines are never split, and an empty file is never rotated.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// One rotating log file.
pub struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    backup_count: usize,
    file: File,
    size: u64,
    /// Whether the last write failed (so a run of failures is reported once).
    failing: bool,
}

impl RotatingFile {
    /// Opens `path` for appending, creating it if needed.
    pub fn open(path: &Path, max_bytes: u64, backup_count: usize) -> io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let size = file.metadata()?.len();
        Ok(RotatingFile {
            path: path.to_path_buf(),
            max_bytes,
            backup_count,
            file,
            size,
            failing: false,
        })
    }

    /// Appends one line (which must end with a newline). A line longer than `max_bytes` is cut
    /// to fit, so that no file grows past the limit (except with no backups, where Python's
    /// handler never rotates either).
    pub fn write_line(&mut self, line: &str) -> io::Result<()> {
        let mut line = line.as_bytes();
        let limit = self.max_bytes as usize;
        let cut;
        if line.len() > limit {
            // Cut at a character boundary, so the file stays valid UTF-8.
            let text = String::from_utf8_lossy(line);
            let mut end = limit.saturating_sub(1);
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            cut = format!("{}\n", &text[..end]);
            line = cut.as_bytes();
        }
        // As Python: with no backups, the file is never rotated.
        if self.backup_count > 0 && self.size > 0 && self.size + line.len() as u64 > self.max_bytes
        {
            self.rotate()?;
        }
        self.file.write_all(line)?;
        self.size += line.len() as u64;
        Ok(())
    }

    /// Where the logging thread's writes go: each `write` is one whole line (tracing-appender
    /// writes each formatted event at once). A failure is said once per run of failures on
    /// stderr, which cannot fail the same way, and the line is given up: the site goes on.
    fn write_or_report(&mut self, line: &[u8]) {
        let result = self.write_line(&String::from_utf8_lossy(line));
        match result {
            Err(e) if !self.failing => {
                self.failing = true;
                eprintln!(
                    "microblog: writing {} failed ({e}); its lines are lost until it works again",
                    self.path.display()
                );
            }
            Err(_) => {}
            Ok(()) => self.failing = false,
        }
    }

    fn backup(&self, n: usize) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file.flush()?;
        for n in (1..self.backup_count).rev() {
            let from = self.backup(n);
            if from.exists() {
                fs::rename(&from, self.backup(n + 1))?;
            }
        }
        fs::rename(&self.path, self.backup(1))?;
        self.file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        self.size = 0;
        Ok(())
    }
}

impl Write for RotatingFile {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        self.write_or_report(line);
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(dir: &Path) -> Vec<(String, u64)> {
        let mut files: Vec<(String, u64)> = fs::read_dir(dir)
            .unwrap()
            .map(|entry| {
                let entry = entry.unwrap();
                (
                    entry.file_name().to_string_lossy().into_owned(),
                    entry.metadata().unwrap().len(),
                )
            })
            .collect();
        files.sort();
        files
    }

    #[test]
    fn rotates_before_a_line_would_pass_the_limit_and_keeps_the_backup_count() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let mut file = RotatingFile::open(&path, 100, 2).unwrap();
        for n in 0..20 {
            file.write_line(&format!("line {n:02} {}\n", "x".repeat(20)))
                .unwrap();
        }
        let files = sizes(dir.path());
        let names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["app.log", "app.log.1", "app.log.2"]);
        assert!(files.iter().all(|(_, size)| *size <= 100), "{files:?}");
        let newest = fs::read_to_string(&path).unwrap();
        assert!(newest.ends_with(&format!("line 19 {}\n", "x".repeat(20))));
        for (name, _) in &files {
            let text = fs::read_to_string(dir.path().join(name)).unwrap();
            assert!(
                text.lines()
                    .all(|l| l.starts_with("line ") && l.len() == 28),
                "no split lines"
            );
        }
        let oldest = fs::read_to_string(dir.path().join("app.log.2")).unwrap();
        assert!(
            oldest.starts_with("line 12"),
            "the oldest lines left: {oldest}"
        );
    }

    #[test]
    fn an_empty_file_is_never_rotated_and_an_oversized_line_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let mut file = RotatingFile::open(&path, 10, 3).unwrap();
        file.write_line(&format!("{}\n", "y".repeat(50))).unwrap();
        assert_eq!(sizes(dir.path()), [("app.log".to_string(), 10)]);
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn reopening_appends_and_counts_the_existing_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        RotatingFile::open(&path, 30, 1)
            .unwrap()
            .write_line("0123456789012345678\n")
            .unwrap();
        let mut again = RotatingFile::open(&path, 30, 1).unwrap();
        again.write_line("abcdefghijklmn\n").unwrap();
        assert_eq!(
            fs::read_to_string(dir.path().join("app.log.1")).unwrap(),
            "0123456789012345678\n"
        );
        assert_eq!(fs::read_to_string(&path).unwrap(), "abcdefghijklmn\n");
    }
}
