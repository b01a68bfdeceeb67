//! Progress display for anything that waits: an indicatif spinner on a terminal, plain lines
//! (one per change) on stderr otherwise, so logs and tests stay readable.

use std::cell::RefCell;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
    last: RefCell<String>,
}

impl Progress {
    pub fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = ProgressBar::new_spinner();
            if let Ok(style) = ProgressStyle::with_template("{spinner:.cyan} [{elapsed}] {msg}") {
                b.set_style(style);
            }
            b.enable_steady_tick(Duration::from_millis(100));
            b
        });
        Self {
            bar,
            last: RefCell::new(String::new()),
        }
    }

    /// Shows what is happening now; repeated identical messages print once.
    pub fn step(&self, msg: &str) {
        if *self.last.borrow() == msg {
            return;
        }
        *self.last.borrow_mut() = msg.to_string();
        match &self.bar {
            Some(b) => b.set_message(msg.to_string()),
            None => crate::output::note(msg),
        }
    }

    /// Prints a line that stays (above the spinner on a terminal).
    pub fn line(&self, msg: &str) {
        match &self.bar {
            Some(b) => b.println(msg),
            None => crate::output::note(msg),
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
