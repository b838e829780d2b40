//! The `wire_enum!` macro: a provider's closed list of string values, open to new ones.

/// Declares a provider's string-valued enum (a status, a transfer state, an event type): one
/// variant per documented wire value plus `Other(String)`, which keeps any value the provider
/// adds later verbatim instead of failing to parse or guessing. `Other` is never success: map it
/// to [`PaymentStatus::Unknown`](crate::PaymentStatus::Unknown).
///
/// Generates `DOCUMENTED` (every documented value, for tables and tests), `as_str`, `parse`
/// (case-sensitive), `Display`, and serde `Serialize`/`Deserialize` as the plain string.
///
/// ```
/// payments_core::wire_enum! {
///     /// A session's status.
///     SessionStatus {
///         /// Paid.
///         Paid = "payment_created",
///         /// Cancelled.
///         Cancelled = "payment_cancelled",
///     }
/// }
///
/// assert_eq!(SessionStatus::parse("payment_created"), SessionStatus::Paid);
/// assert_eq!(SessionStatus::parse("new_value"), SessionStatus::Other("new_value".into()));
/// let json = serde_json::to_string(&SessionStatus::Cancelled).unwrap();
/// assert_eq!(json, r#""payment_cancelled""#);
/// let back: SessionStatus = serde_json::from_str(r#""surprise""#).unwrap();
/// assert_eq!(back.as_str(), "surprise");
/// assert_eq!(SessionStatus::DOCUMENTED.len(), 2);
/// ```
#[macro_export]
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, )* }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value this crate does not know (added by the provider later), kept verbatim.
            /// Never success.
            Other(::std::string::String),
        }

        impl $name {
            /// Every documented value.
            pub const DOCUMENTED: &'static [$name] = &[$($name::$variant),*];

            /// The wire value.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $wire, )*
                    $name::Other(raw) => raw,
                }
            }

            /// Reads a wire value (case-sensitive); anything undocumented becomes `Other`.
            pub fn parse(raw: &str) -> Self {
                match raw {
                    $( $wire => $name::$variant, )*
                    other => $name::Other(::std::string::ToString::to_string(other)),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::__private::serde::Serialize for $name {
            fn serialize<S>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error>
            where
                S: $crate::__private::serde::Serializer,
            {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> $crate::__private::serde::Deserialize<'de> for $name {
            fn deserialize<D>(d: D) -> ::std::result::Result<Self, D::Error>
            where
                D: $crate::__private::serde::Deserializer<'de>,
            {
                let raw = <::std::borrow::Cow<'de, str> as $crate::__private::serde::Deserialize>::deserialize(d)?;
                ::std::result::Result::Ok($name::parse(&raw))
            }
        }
    };
}
