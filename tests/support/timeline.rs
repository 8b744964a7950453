//! The journey's timeline: each step's name and how long it took, printed as the steps
//! finish and as a table at the end (or at the failure). Written to the process's standard
//! error directly, not through the test harness's capture, so a plain `cargo test` log
//! (CI's) shows where the time goes.

use std::io::Write;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct Timeline {
    started: Instant,
    done: Vec<(String, Duration)>,
    current: Option<(String, Instant)>,
}

/// A line in the journey's output (not captured by the test harness).
pub fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "journey: {line}");
}

impl Default for Timeline {
    fn default() -> Timeline {
        Timeline {
            started: Instant::now(),
            done: Vec::new(),
            current: None,
        }
    }
}

impl Timeline {
    /// Ends the current step and starts `name`.
    pub fn step(&mut self, name: &str) {
        self.end_step();
        say(&format!("▶ {name}"));
        self.current = Some((name.to_owned(), Instant::now()));
    }

    fn end_step(&mut self) {
        if let Some((name, at)) = self.current.take() {
            self.done.push((name, at.elapsed()));
        }
    }

    fn table(&self, failed: Option<&(String, Instant)>) -> String {
        let mut s = String::from("timeline of the journey:\n");
        for (name, took) in &self.done {
            s += &format!("  {:>6.1} s  {name}\n", took.as_secs_f64());
        }
        if let Some((name, at)) = failed {
            s += &format!(
                "  {:>6.1} s  {name}  <- FAILED here\n",
                at.elapsed().as_secs_f64()
            );
        }
        s += &format!(
            "  {:>6.1} s  in all\n",
            self.started.elapsed().as_secs_f64()
        );
        s
    }

    /// Ends the last step and prints the table.
    pub fn finish(mut self) {
        self.end_step();
        say(&self.table(None));
    }
}

impl Drop for Timeline {
    fn drop(&mut self) {
        if std::thread::panicking() {
            say(&self.table(self.current.as_ref()));
        }
    }
}
