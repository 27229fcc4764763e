//! GlueSQL's results (`Payload`) as PostgreSQL responses: rows with their
//! column types, or a command tag (`INSERT 0 n`, `UPDATE n`, `CREATE
//! TABLE`...).

use std::sync::Arc;

use gluesql_core::ast::Statement;
use gluesql_core::data::Value;
use gluesql_core::executor::{Payload, PayloadVariable};
use pgwire::api::{QueryResponse, Response, Rows, Tag};
use pgwire::error::{ErrorInfo, SqlState};
use pgwire::types::{FieldInfo, Schema, Type};

use super::database::Executed;
use super::values::{GlueRow, value_type};

/// The column holding each row of a schemaless table (a JSON object), as
/// GlueSQL itself names it.
const DOC_COLUMN: &str = "_doc";

/// The tag of a statement whose payload does not say what it was
/// (`Payload::Create` is a table or a function).
pub fn command_tag(stmt: &Statement) -> &'static str {
    match stmt {
        Statement::CreateFunction { .. } => "CREATE FUNCTION",
        _ => "CREATE TABLE",
    }
}

/// The columns of a result: the labels, typed by `known` (from the
/// schemas) or else by the first non-NULL value of each column (text if
/// there is none).
fn fields_from_values(labels: &[String], rows: &[Vec<Value>], known: &[Option<Type>]) -> Schema {
    let known = if known.len() == labels.len() {
        known
    } else {
        &[]
    };
    Arc::from(
        labels
            .iter()
            .enumerate()
            .map(|(i, label)| {
                let ty = known
                    .get(i)
                    .cloned()
                    .flatten()
                    .or_else(|| rows.iter().find_map(|r| r.get(i).and_then(value_type)))
                    .unwrap_or(Type::TEXT);
                FieldInfo::new(label.clone(), ty)
            })
            .collect::<Vec<_>>(),
    )
}

fn text_fields(names: &[&str]) -> Schema {
    Arc::from(
        names
            .iter()
            .map(|n| FieldInfo::new(n.to_string(), Type::TEXT))
            .collect::<Vec<_>>(),
    )
}

/// The columns of a payload that has rows, typed by `known` where given.
pub fn payload_fields(p: &Payload, known: &[Option<Type>]) -> Option<Schema> {
    Some(match p {
        Payload::Select { labels, rows } => fields_from_values(labels, rows, known),
        Payload::SelectMap(_) => Arc::from(vec![FieldInfo::new(DOC_COLUMN, Type::JSON)]),
        Payload::ShowColumns(_) => text_fields(&["field", "type"]),
        Payload::ShowVariable(PayloadVariable::Tables(_)) => text_fields(&["tables"]),
        Payload::ShowVariable(PayloadVariable::Functions(_)) => text_fields(&["functions"]),
        Payload::ShowVariable(PayloadVariable::Version(_)) => text_fields(&["version"]),
        _ => return None,
    })
}

/// The response to a statement's result. `described` are the columns
/// announced at Describe, if any: rows are sent in those types.
pub fn response(
    executed: Executed,
    described: Option<Schema>,
    create_tag: &'static str,
) -> Response {
    let Executed {
        payload,
        column_types,
    } = executed;
    let fields = payload_fields(&payload, column_types.as_deref().unwrap_or(&[]));
    let command = match payload {
        Payload::ShowColumns(_) | Payload::ShowVariable(_) => "SHOW",
        _ => "SELECT",
    };
    let rows: Vec<Vec<Value>> = match payload {
        Payload::Insert(n) => return Tag::insert(n as u64).into(),
        Payload::Update(n) => return Tag::update(n as u64).into(),
        Payload::Delete(n) => return Tag::delete(n as u64).into(),
        Payload::Create => return Tag::new(create_tag).into(),
        Payload::DropTable(_) => return Tag::new("DROP TABLE").into(),
        Payload::DropFunction => return Tag::new("DROP FUNCTION").into(),
        Payload::AlterTable => return Tag::new("ALTER TABLE").into(),
        Payload::CreateIndex => return Tag::new("CREATE INDEX").into(),
        Payload::DropIndex => return Tag::new("DROP INDEX").into(),
        Payload::StartTransaction => return Response::Execution(Tag::new("BEGIN")),
        Payload::Commit => return Response::Execution(Tag::new("COMMIT")),
        Payload::Rollback => return Response::Execution(Tag::new("ROLLBACK")),
        Payload::Select { rows, .. } => rows,
        Payload::SelectMap(rows) => rows.into_iter().map(|m| vec![Value::Map(m)]).collect(),
        Payload::ShowColumns(columns) => columns
            .into_iter()
            .map(|(name, ty)| vec![Value::Str(name), Value::Str(ty.to_string())])
            .collect(),
        Payload::ShowVariable(
            PayloadVariable::Tables(names) | PayloadVariable::Functions(names),
        ) => names.into_iter().map(|n| vec![Value::Str(n)]).collect(),
        Payload::ShowVariable(PayloadVariable::Version(v)) => vec![vec![Value::Str(v)]],
    };
    let Some(fields) = fields else {
        return ErrorInfo::new(SqlState::INTERNAL_ERROR, "result without columns").into();
    };
    let schema = match described {
        Some(d) if d.len() != fields.len() => {
            return ErrorInfo::new(
                SqlState::FEATURE_NOT_SUPPORTED,
                "cached plan must not change result type",
            )
            .into();
        }
        Some(d) => d,
        None => fields,
    };
    Response::Query(
        QueryResponse::new(schema, Rows::from_iterator(rows.into_iter().map(GlueRow)))
            .with_tag(Tag::counting(command)),
    )
}
