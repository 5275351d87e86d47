//! `redress audit | head`: when the reader of standard output goes away,
//! a command that only prints ends quietly, as command-line tools do,
//! instead of panicking on a broken pipe.
//!
//! Rust starts programs with SIGPIPE ignored, so a write to a closed pipe
//! fails and `println!` panics. Commands that only read and print restore
//! the default action (the process ends at the first such write). The
//! daemon and the commands that write (`store repair`, `plugin build`)
//! keep SIGPIPE ignored: they must never stop half-way because a pipe
//! closed.

/// Ends the process quietly at its first write to a closed pipe.
pub fn end_quietly_on_closed_pipe() {
    // SAFETY: setting a signal's disposition to its default is
    // async-signal-safe and done before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
