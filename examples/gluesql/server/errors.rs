//! GlueSQL's errors as PostgreSQL errors: the SQLSTATE a driver branches on
//! (syntax, undefined table or column, duplicate key, bad input...) and, for
//! the common cases, PostgreSQL's own wording.

use gluesql_core::ast::DataType;
use gluesql_core::data::Value;
use gluesql_core::error::{
    AlterError, AlterTableError, Error, EvaluateError, ExecuteError, FetchError, InsertError,
    TranslateError, UpdateError, ValidateError, ValueError,
};
use pgwire::error::{ErrorInfo, SqlState};
use pgwire::types::text::pg_type_display_name;

use super::values::pg_type_of;

/// The PostgreSQL error for a GlueSQL error.
pub fn glue_error(e: Error) -> ErrorInfo {
    let text = e.to_string();
    let (code, message) = match e {
        Error::Parser(msg) => (SqlState::SYNTAX_ERROR, format!("syntax error: {msg}")),
        Error::Translate(t) => translate_error(t, text),
        Error::Fetch(FetchError::TableNotFound(t))
        | Error::Execute(ExecuteError::TableNotFound(t))
        | Error::Insert(InsertError::TableNotFound(t))
        | Error::AlterTable(AlterTableError::TableNotFound(t)) => (
            SqlState::UNDEFINED_TABLE,
            format!("relation \"{t}\" does not exist"),
        ),
        Error::Alter(a) => match *a {
            AlterError::TableNotFound(t) => (
                SqlState::UNDEFINED_TABLE,
                format!("table \"{t}\" does not exist"),
            ),
            AlterError::TableAlreadyExists(t) => (
                SqlState::DUPLICATE_TABLE,
                format!("relation \"{t}\" already exists"),
            ),
            AlterError::DuplicateColumnName(c) => (
                SqlState::DUPLICATE_COLUMN,
                format!("column \"{c}\" specified more than once"),
            ),
            _ => (SqlState::INTERNAL_ERROR, text),
        },
        Error::AlterTable(AlterTableError::AlreadyExistingColumn(c)) => (
            SqlState::DUPLICATE_COLUMN,
            format!("column \"{c}\" already exists"),
        ),
        Error::AlterTable(AlterTableError::DroppingColumnNotFound(c)) => (
            SqlState::UNDEFINED_COLUMN,
            format!("column \"{c}\" does not exist"),
        ),
        Error::AlterTable(AlterTableError::RenamingColumnNotFound) => {
            (SqlState::UNDEFINED_COLUMN, text)
        }
        Error::Evaluate(EvaluateError::IdentifierNotFound(c))
        | Error::Update(UpdateError::ColumnNotFound(c)) => (
            SqlState::UNDEFINED_COLUMN,
            format!("column \"{c}\" does not exist"),
        ),
        Error::Evaluate(EvaluateError::CompoundIdentifierNotFound {
            table_alias,
            column_name,
        }) => (
            SqlState::UNDEFINED_COLUMN,
            format!("column {table_alias}.{column_name} does not exist"),
        ),
        Error::Insert(InsertError::WrongColumnName(c)) => (
            SqlState::UNDEFINED_COLUMN,
            format!("column \"{c}\" does not exist"),
        ),
        Error::Insert(InsertError::TooManyValues) => (
            SqlState::SYNTAX_ERROR,
            "INSERT has more expressions than target columns".to_owned(),
        ),
        Error::Validate(ValidateError::DuplicateEntryOnUniqueField(value, column)) => {
            return ErrorInfo::new(
                SqlState::UNIQUE_VIOLATION,
                format!("duplicate key value violates unique constraint on \"{column}\""),
            )
            .with_detail(format!(
                "Key ({column})=({}) already exists.",
                String::from(&value)
            ));
        }
        Error::Validate(ValidateError::DuplicateEntryOnPrimaryKeyField(key)) => {
            return ErrorInfo::new(
                SqlState::UNIQUE_VIOLATION,
                "duplicate key value violates primary key",
            )
            .with_detail(format!(
                "Key (primary key)=({}) already exists.",
                String::from(&Value::from(key))
            ));
        }
        Error::Evaluate(
            EvaluateError::TextParseFailed { literal, data_type }
            | EvaluateError::TextCastFailed { literal, data_type }
            | EvaluateError::NumberParseFailed { literal, data_type }
            | EvaluateError::NumberCastFailed { literal, data_type },
        ) => (
            SqlState::INVALID_TEXT_REPRESENTATION,
            format!(
                "invalid input syntax for type {}: \"{literal}\"",
                type_name(&data_type)
            ),
        ),
        Error::Evaluate(EvaluateError::DivisorShouldNotBeZero) => {
            (SqlState::DIVISION_BY_ZERO, "division by zero".to_owned())
        }
        Error::Evaluate(EvaluateError::MoreThanOneRowReturned) => (
            SqlState::CARDINALITY_VIOLATION,
            "more than one row returned by a subquery used as an expression".to_owned(),
        ),
        Error::Evaluate(EvaluateError::UnsupportedFunction(f)) => (
            SqlState::UNDEFINED_FUNCTION,
            format!("function {f} does not exist"),
        ),
        Error::Evaluate(
            EvaluateError::UnsupportedBinaryOperation { .. }
            | EvaluateError::BooleanTypeRequired(_)
            | EvaluateError::FunctionRequiresStringValue(_)
            | EvaluateError::FunctionRequiresIntegerValue(_)
            | EvaluateError::FunctionRequiresFloatOrIntegerValue(_)
            | EvaluateError::FunctionRequiresFloatValue(_),
        ) => (SqlState::DATATYPE_MISMATCH, text),
        Error::Evaluate(_) => (SqlState::DATA_EXCEPTION, text),
        Error::Key(_) => (SqlState::DATATYPE_MISMATCH, text),
        Error::Value(v) => value_error(*v, text),
        Error::StorageMsg(m) if m.contains("not supported") => (SqlState::FEATURE_NOT_SUPPORTED, m),
        _ => (SqlState::INTERNAL_ERROR, text),
    };
    ErrorInfo::new(code, message)
}

fn translate_error(t: TranslateError, text: String) -> (SqlState, String) {
    match t {
        TranslateError::UnsupportedDataType(ty) => (
            SqlState::UNDEFINED_OBJECT,
            format!("type \"{}\" does not exist", ty.to_lowercase()),
        ),
        TranslateError::ParameterIndexOutOfRange { index, .. } => (
            SqlState::UNDEFINED_PARAMETER,
            format!("there is no parameter ${index}"),
        ),
        TranslateError::InvalidPlaceholder { placeholder } => (
            SqlState::SYNTAX_ERROR,
            format!("syntax error at or near \"{placeholder}\""),
        ),
        TranslateError::UnsupportedStatement(s) => (
            SqlState::FEATURE_NOT_SUPPORTED,
            format!("statement not supported by GlueSQL: {s}"),
        ),
        _ if text.contains("unsupported") || text.contains("not supported") => {
            (SqlState::FEATURE_NOT_SUPPORTED, text)
        }
        _ => (SqlState::SYNTAX_ERROR, text),
    }
}

fn value_error(v: ValueError, text: String) -> (SqlState, String) {
    match v {
        ValueError::NullValueOnNotNullField => (
            SqlState::NOT_NULL_VIOLATION,
            "null value violates not-null constraint".to_owned(),
        ),
        ValueError::DivisorShouldNotBeZero => {
            (SqlState::DIVISION_BY_ZERO, "division by zero".to_owned())
        }
        ValueError::BinaryOperationOverflow { .. } => (SqlState::NUMERIC_VALUE_OUT_OF_RANGE, text),
        ValueError::IncompatibleDataType { data_type, value } => (
            SqlState::DATATYPE_MISMATCH,
            format!(
                "value {} is not of type {}",
                String::from(&value),
                type_name(&data_type)
            ),
        ),
        ValueError::FailedToParseUUID(s) => (
            SqlState::INVALID_TEXT_REPRESENTATION,
            format!("invalid input syntax for type uuid: \"{s}\""),
        ),
        ValueError::InvalidJsonString(_)
        | ValueError::FailedToParsePoint(_)
        | ValueError::CastFromHexToByteaFailed(_) => (SqlState::INVALID_TEXT_REPRESENTATION, text),
        _ => (SqlState::DATATYPE_MISMATCH, text),
    }
}

/// A GlueSQL type by its PostgreSQL name (`integer`, `text`...).
fn type_name(t: &DataType) -> String {
    pg_type_display_name(&pg_type_of(t)).to_owned()
}
