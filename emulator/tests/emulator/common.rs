//! The workspace's one test kit (`testkit/`, `cloudbase-auth-testkit`) under the names
//! these modules use. New tests may `use cloudbase_auth_testkit::…` directly.
#![allow(unused_imports)]

pub use cloudbase_auth_testkit::emulator::{Emu, Reply, reply, reply_unchecked};
pub use cloudbase_auth_testkit::{
    DEVICE_ID as DEVICE, PASSWORD, emulator_config as test_config, emulator_config_from,
};
