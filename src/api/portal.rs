//! Prepared statements and portals as handlers see them.

use std::sync::{Arc, OnceLock};

use bytes::BytesMut;
use postgres_types::{FromSql, Type};

use crate::error::{ErrorInfo, SqlState};
use crate::messages::{Bind, ByteStr, FormatCodes, Oid, ValueList};
use crate::types::{FieldFormat, FormatSettings, text};

/// A prepared statement: the SQL text, the parameter types the client gave
/// in Parse, and the handler's own parsed form.
#[derive(Debug)]
pub struct StoredStatement<S> {
    pub(crate) name: ByteStr,
    pub(crate) sql: ByteStr,
    pub(crate) param_types: Vec<Oid>,
    pub(crate) statement: S,
    /// The parameter types from the statement's first Describe: the server
    /// checks bound values against them at Bind.
    pub(crate) described_params: OnceLock<Vec<Type>>,
    /// The number of result columns, once a Describe told: the server
    /// checks a Bind's result format count against it.
    pub(crate) described_columns: OnceLock<usize>,
}

impl<S> StoredStatement<S> {
    /// The statement name (empty for the unnamed statement).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The SQL text.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// Parameter type OIDs as the client gave them in Parse (0 =
    /// unspecified); may be shorter than the statement's parameter list.
    pub fn param_types(&self) -> &[Oid] {
        &self.param_types
    }

    /// The type the client gave for parameter `i` (0-based), if any.
    pub fn param_type(&self, i: usize) -> Option<Type> {
        self.param_types
            .get(i)
            .copied()
            .filter(|&oid| oid != 0)
            .and_then(Type::from_oid)
    }

    /// The handler's parsed statement.
    pub fn statement(&self) -> &S {
        &self.statement
    }
}

/// A portal: a statement bound to parameter values and result formats,
/// ready to run.
pub struct Portal<S> {
    pub(crate) name: ByteStr,
    pub(crate) statement: Arc<StoredStatement<S>>,
    pub(crate) param_formats: FormatCodes,
    pub(crate) params: ValueList,
    pub(crate) result_formats: FormatCodes,
    /// The session's settings at Bind: how text parameters read.
    pub(crate) settings: Arc<FormatSettings>,
}

impl<S> std::fmt::Debug for Portal<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Portal")
            .field("name", &self.name)
            .field("sql", &self.statement.sql)
            .field("params", &self.params)
            .field("result_formats", &self.result_formats)
            .finish_non_exhaustive()
    }
}

impl<S> Portal<S> {
    pub(crate) fn new(
        bind: Bind,
        statement: Arc<StoredStatement<S>>,
        settings: Arc<FormatSettings>,
    ) -> Self {
        Portal {
            name: bind.portal,
            statement,
            param_formats: bind.param_formats,
            params: bind.params,
            result_formats: bind.result_formats,
            settings,
        }
    }

    /// The session's value-formatting settings when the portal was bound
    /// (DateStyle, TimeZone...): [`Portal::parameter`] reads text values
    /// with them, as PostgreSQL reads parameters at Bind.
    pub fn format_settings(&self) -> &FormatSettings {
        &self.settings
    }

    /// The portal name (empty for the unnamed portal).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The statement this portal was bound from.
    pub fn statement(&self) -> &StoredStatement<S> {
        &self.statement
    }

    /// The parameter values, `None` for NULL, in their wire format.
    pub fn params(&self) -> &ValueList {
        &self.params
    }

    /// Number of parameter values bound.
    pub fn param_count(&self) -> usize {
        self.params.len()
    }

    /// The format parameter `i` was sent in.
    pub fn param_format(&self, i: usize) -> FieldFormat {
        self.param_formats
            .format_for(i, self.params.len())
            .and_then(FieldFormat::from_code)
            .unwrap_or(FieldFormat::Text)
    }

    /// The result column format codes from Bind (empty = all text).
    pub fn result_formats(&self) -> &FormatCodes {
        &self.result_formats
    }

    /// The format result column `i` of `columns` is to be sent in.
    pub fn result_format(&self, i: usize, columns: usize) -> FieldFormat {
        self.result_formats
            .format_for(i, columns)
            .and_then(FieldFormat::from_code)
            .unwrap_or(FieldFormat::Text)
    }

    /// Fails with PostgreSQL's error unless exactly `expected` parameters
    /// were bound.
    pub fn check_param_count(&self, expected: usize) -> Result<(), ErrorInfo> {
        if self.params.len() == expected {
            return Ok(());
        }
        Err(ErrorInfo::new(
            SqlState::PROTOCOL_VIOLATION,
            format!(
                "bind message supplies {} parameters, but prepared statement \"{}\" requires {}",
                self.params.len(),
                self.statement.name(),
                expected
            ),
        ))
    }

    /// Parameter `i` (0-based) as type `T`, read as a value of type `ty`
    /// whichever format the client sent it in; `None` for NULL.
    ///
    /// Binary values go straight to `FromSql`; text values are first parsed
    /// as PostgreSQL would parse them for `ty`, with the session's settings
    /// of Bind time ([`Portal::format_settings`]): DateStyle's field order
    /// for `01/02/2024`, TimeZone for a timestamptz without offset.
    pub fn parameter<'a, T: FromSql<'a>>(
        &'a self,
        i: usize,
        ty: &Type,
        scratch: &'a mut BytesMut,
    ) -> Result<Option<T>, ErrorInfo> {
        self.parameter_with(i, ty, &self.settings, scratch)
    }

    /// [`Portal::parameter`], reading text values with other `settings`
    /// than the portal's.
    pub fn parameter_with<'a, T: FromSql<'a>>(
        &'a self,
        i: usize,
        ty: &Type,
        settings: &crate::types::FormatSettings,
        scratch: &'a mut BytesMut,
    ) -> Result<Option<T>, ErrorInfo> {
        let value = self.params.get(i).ok_or_else(|| {
            ErrorInfo::new(
                SqlState::UNDEFINED_PARAMETER,
                format!("there is no parameter ${}", i + 1),
            )
        })?;
        let Some(raw) = value else {
            return Ok(None);
        };
        let bin: &'a [u8] = match self.param_format(i) {
            FieldFormat::Binary => raw,
            FieldFormat::Text => {
                let s = std::str::from_utf8(raw).map_err(|_| {
                    ErrorInfo::new(
                        SqlState::CHARACTER_NOT_IN_REPERTOIRE,
                        "invalid byte sequence for encoding \"UTF8\"",
                    )
                })?;
                scratch.clear();
                text::text_to_binary_with(ty, s, settings, scratch)?;
                &scratch[..]
            }
        };
        if !T::accepts(ty) {
            return Err(ErrorInfo::new(
                SqlState::DATATYPE_MISMATCH,
                format!(
                    "parameter ${} of type {} cannot be read as requested",
                    i + 1,
                    ty.name()
                ),
            ));
        }
        T::from_sql(ty, bin).map(Some).map_err(|e| {
            ErrorInfo::new(
                SqlState::INVALID_BINARY_REPRESENTATION,
                format!(
                    "incorrect binary data format in bind parameter {}: {e}",
                    i + 1
                ),
            )
        })
    }

    /// Parameter `i` as text if it was sent in text format (`None` for
    /// NULL); an error if it was sent in binary.
    pub fn parameter_text(&self, i: usize) -> Result<Option<&str>, ErrorInfo> {
        match self.params.get(i) {
            None => Err(ErrorInfo::new(
                SqlState::UNDEFINED_PARAMETER,
                format!("there is no parameter ${}", i + 1),
            )),
            Some(None) => Ok(None),
            Some(Some(raw)) => {
                if self.param_format(i) == FieldFormat::Binary {
                    return Err(ErrorInfo::new(
                        SqlState::FEATURE_NOT_SUPPORTED,
                        format!("parameter ${} was sent in binary format", i + 1),
                    ));
                }
                std::str::from_utf8(raw).map(Some).map_err(|_| {
                    ErrorInfo::new(
                        SqlState::CHARACTER_NOT_IN_REPERTOIRE,
                        "invalid byte sequence for encoding \"UTF8\"",
                    )
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn portal(settings: FormatSettings) -> Portal<()> {
        let statement = Arc::new(StoredStatement {
            name: ByteStr::from(""),
            sql: ByteStr::from("SELECT $1::date"),
            param_types: Vec::new(),
            statement: (),
            described_params: OnceLock::new(),
            described_columns: OnceLock::new(),
        });
        let bind = Bind {
            portal: ByteStr::from(""),
            statement: ByteStr::from(""),
            param_formats: FormatCodes::new(),
            params: ValueList::from_values([Some(b"01/02/2024")]),
            result_formats: FormatCodes::new(),
        };
        Portal::new(bind, statement, Arc::new(settings))
    }

    #[test]
    fn text_parameters_read_with_the_settings_of_bind_time() {
        let mut scratch = BytesMut::new();
        let mdy = portal(FormatSettings::default());
        let d: Option<chrono::NaiveDate> = mdy.parameter(0, &Type::DATE, &mut scratch).unwrap();
        assert_eq!(d.unwrap().to_string(), "2024-01-02");
        let mut settings = FormatSettings::default();
        settings.set("DateStyle", "German").unwrap();
        let dmy = portal(settings);
        assert_eq!(
            dmy.format_settings().date_order,
            crate::types::DateOrder::Dmy
        );
        let d: Option<chrono::NaiveDate> = dmy.parameter(0, &Type::DATE, &mut scratch).unwrap();
        assert_eq!(d.unwrap().to_string(), "2024-02-01");
        // Other settings on request.
        let d: Option<chrono::NaiveDate> = dmy
            .parameter_with(0, &Type::DATE, FormatSettings::default_ref(), &mut scratch)
            .unwrap();
        assert_eq!(d.unwrap().to_string(), "2024-01-02");
    }
}
