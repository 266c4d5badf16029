//! Rows and the queries on them, one file per table family. Models know no
//! HTTP and no protocol.

pub mod admin_session;
pub mod block;
pub mod comment;
pub mod delivery;
pub mod follower;
pub mod inbox_queue;
pub mod instance_setting;
pub mod media;
pub mod post;
pub mod quote;
pub mod reaction;
pub mod received_activity;
pub mod remote_actor;
pub mod tag;
pub mod tombstone;
