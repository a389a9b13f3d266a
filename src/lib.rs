//! msvsmon-probe: can this machine reach a Visual Studio Remote Debugger (msvsmon), and if not, why not?
//!
//! The library is organised after the domain: the release [`catalog`], the [`target`]s a user names
//! and their [`resolve`]d addresses, one TCP [`probe`] and the [`engine`] that runs many, the
//! [`diagnose`] rules that turn results into a verdict and hints, and the [`report`]s that present
//! them. Only `main.rs` prints; every module here returns data.
#![warn(clippy::print_stdout, clippy::print_stderr)]

pub mod catalog;
pub mod engine;
pub mod platform;
pub mod probe;
pub mod resolve;
pub mod target;
