//! Confirmation prompts for destructive commands. A non-terminal stdin (scripts, CI) is taken
//! as consent, as `--yes` is; on a terminal the user is asked (default: no).

use std::io::IsTerminal;

pub fn confirm(question: &str) -> bool {
    if !std::io::stdin().is_terminal() {
        return true;
    }
    dialoguer::Confirm::new()
        .with_prompt(question)
        .default(false)
        .interact()
        .unwrap_or(false)
}
