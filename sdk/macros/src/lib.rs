//! `#[redress_sdk::plugin]`: turns one function into a Redress plugin.
//!
//! The function keeps its name and stays callable (tests call it directly);
//! the attribute adds the component export that calls it.

use proc_macro::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};

/// Marks `fn name(complaint: &Complaint) -> Result<Analysis, String>` as the
/// plugin's entry point.
#[proc_macro_attribute]
pub fn plugin(attribute: TokenStream, item: TokenStream) -> TokenStream {
    if !attribute.is_empty() {
        return error("`#[plugin]` takes no arguments", Span::call_site());
    }
    let Some(name) = function_name(&item) else {
        return error(
            "`#[plugin]` goes on a function: `fn analyze(complaint: &Complaint) -> Result<Analysis, String>`",
            Span::call_site(),
        );
    };
    // The component export exists only in the WebAssembly build; natively
    // the function is plain Rust for the plugin's own tests.
    let glue = format!(
        r#"
        #[cfg(target_arch = "wasm32")]
        #[doc(hidden)]
        mod __redress_plugin_export {{
            pub struct RedressPlugin;

            impl ::redress_sdk::__private::exports::redress::plugin::analyzer::Guest for RedressPlugin {{
                fn analyze(
                    complaint: ::redress_sdk::Complaint,
                ) -> ::core::result::Result<::redress_sdk::Analysis, ::redress_sdk::__private::String> {{
                    super::{name}(&complaint)
                }}
            }}

            ::redress_sdk::__private::__export_plugin!(RedressPlugin with_types_in ::redress_sdk::__private);
        }}
        "#
    );
    let mut output = item;
    match glue.parse::<TokenStream>() {
        Ok(glue) => output.extend(glue),
        Err(_) => {
            return error(
                "internal error generating the plugin export",
                Span::call_site(),
            );
        }
    }
    output
}

/// The identifier after `fn`.
fn function_name(item: &TokenStream) -> Option<String> {
    let mut tokens = item.clone().into_iter();
    while let Some(token) = tokens.next() {
        if let TokenTree::Ident(ident) = &token
            && ident.to_string() == "fn"
        {
            return match tokens.next() {
                Some(TokenTree::Ident(name)) => Some(name.to_string()),
                _ => None,
            };
        }
    }
    None
}

/// `compile_error!("message")` at `span`.
fn error(message: &str, span: Span) -> TokenStream {
    let mut ident = Ident::new("compile_error", span);
    ident.set_span(span);
    let mut tokens: Vec<TokenTree> = vec![
        TokenTree::Ident(ident),
        TokenTree::Punct(proc_macro::Punct::new('!', proc_macro::Spacing::Alone)),
    ];
    let literal = proc_macro::Literal::string(message);
    tokens.push(TokenTree::Group(Group::new(
        Delimiter::Parenthesis,
        TokenStream::from(TokenTree::Literal(literal)),
    )));
    tokens.push(TokenTree::Punct(proc_macro::Punct::new(
        ';',
        proc_macro::Spacing::Alone,
    )));
    tokens.into_iter().collect()
}
