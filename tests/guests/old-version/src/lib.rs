//! A plugin built against `redress:plugin@0.2.0`, a contract this host
//! does not speak. Redress refuses it and names the version.

#[cfg(target_arch = "wasm32")]
mod guest {
    wit_bindgen::generate!({ path: "wit", world: "plugin" });

    use exports::redress::plugin::analyzer::{Analysis, Complaint, Guest};

    struct Future;

    impl Guest for Future {
        fn analyze(_complaint: Complaint) -> Result<Analysis, String> {
            Ok(Analysis {
                annotations: vec![],
                offers: vec![],
            })
        }
    }

    export!(Future);
}
