//! Starts a development issuer on a loopback port, served as the launcher must serve it.
#![allow(dead_code)]

use std::sync::Arc;

use dev_oidc::{DevIssuer, DevIssuerOptions};

pub(crate) struct Running {
    pub(crate) url: String,
    pub(crate) issuer: Arc<DevIssuer>,
    pub(crate) client: reqwest::Client,
    _dir: tempfile::TempDir,
}

pub(crate) async fn start() -> Running {
    start_with(DevIssuerOptions::default()).await
}

pub(crate) async fn start_with(options: DevIssuerOptions) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    dev_oidc::check_listen_addr(addr, false).unwrap();
    let url = format!("http://{addr}");
    let issuer = DevIssuer::open_with(&dir.path().join("dev-oidc.key"), &url, options).unwrap();
    let service = dev_oidc::make_service(issuer.clone());
    tokio::spawn(async move { axum::serve(listener, service).await });
    Running {
        url,
        issuer,
        client: reqwest::Client::new(),
        _dir: dir,
    }
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
