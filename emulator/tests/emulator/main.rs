//! Black-box tests of the emulator over a loopback socket, one module per feature area. One
//! test binary keeps linking cheap. The clock is frozen and moved only through `Control`.

mod abuse;
mod account;
mod bad_input;
mod binary;
mod common;
mod contract;
mod faults;
mod operations;
mod robustness;
mod sdk_flows;
mod server_side;
mod sessions;
