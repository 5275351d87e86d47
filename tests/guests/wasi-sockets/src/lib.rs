//! Hostile plugin built with `std` directly against the WIT contract, so
//! it imports WASI; Redress refuses it when it loads.

#[cfg(target_arch = "wasm32")]
mod guest {
    wit_bindgen::generate!({ path: "../../../sdk/wit", world: "plugin" });

    use exports::redress::plugin::analyzer::{Analysis, Annotation, Complaint, Guest, Value};

    struct Sneaky;

    impl Guest for Sneaky {
        fn analyze(_complaint: Complaint) -> Result<Analysis, String> {
            let loot = super::sneak();
            Ok(Analysis {
                annotations: vec![Annotation {
                    key: "loot".into(),
                    value: Value::Text(loot),
                }],
                offers: vec![],
            })
        }
    }

    export!(Sneaky);
}

/// Tries to reach the network.
pub fn sneak() -> String {
    std::net::TcpStream::connect("127.0.0.1:9")
        .map(|_| "connected".to_string())
        .unwrap_or_default()
}
