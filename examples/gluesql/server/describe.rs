//! What a prepared statement looks like before it runs: the types of its
//! parameters and of its result columns (ParameterDescription and
//! RowDescription).
//!
//! GlueSQL is dynamically typed: its plans carry no types. Parameter types
//! come from their context (`col = $1`, `INSERT INTO t (col) VALUES ($1)`,
//! `$1::int4`, `LIMIT $1`), text otherwise. Result columns that are plain
//! table columns, literals, casts, comparisons and common functions get
//! their types from the table schemas; for the others the query is run
//! once (it only reads) and the first row's values decide, text if there
//! is none.

use std::ops::ControlFlow;
use std::sync::Arc;

use gluesql_core::ast::{
    AggregateFunction, BinaryOperator, ColumnDef, Expr, Function, Literal, Projection, Query,
    SelectItem, SetExpr, Statement, TableFactor, TableWithJoins, UnaryOperator,
};
use gluesql_core::data::Value;
use gluesql_core::executor::Payload;
use gluesql_core::store::Store;
use gluesql_core::translate::{
    IntoParamLiteral, ParamLiteral, translate_data_type, translate_with_params,
};
use gluesql_shared_memory_storage::SharedMemoryStorage;
use pgwire::error::{ErrorInfo, SqlState};
use pgwire::types::{FieldInfo, Schema, Type};
use sqlparser::ast::{
    AssignmentTarget, BinaryOperator as SqlOp, Expr as SqlExpr, ObjectName, SetExpr as SqlSetExpr,
    Statement as SqlStatement, Value as SqlValue, visit_expressions, visit_relations,
};

use super::database::dry_run;
use super::errors::glue_error;
use super::results::payload_fields;
use super::sql::placeholder_index;
use super::values::{pg_type_of, value_type};

/// The columns of the tables a statement names.
struct Tables(Vec<(String, Vec<ColumnDef>)>);

impl Tables {
    fn of(storage: &SharedMemoryStorage, sql: &SqlStatement) -> Tables {
        let mut names: Vec<String> = Vec::new();
        let _ = visit_relations(sql, |rel: &ObjectName| {
            if let Some(n) = rel.0.last() {
                names.push(n.value.clone());
            }
            ControlFlow::<()>::Continue(())
        });
        names.dedup();
        Tables(
            names
                .into_iter()
                .filter_map(|n| {
                    let defs = storage.fetch_schema(&n).ok()??.column_defs?;
                    Some((n, defs))
                })
                .collect(),
        )
    }

    fn table(&self, name: &str) -> Option<&[ColumnDef]> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, d)| d.as_slice())
    }

    fn column(&self, name: &str) -> Option<Type> {
        self.0
            .iter()
            .flat_map(|(_, defs)| defs)
            .find(|d| d.name == name)
            .map(|d| pg_type_of(&d.data_type))
    }

    /// The type of an expression beside a parameter (`col`, a cast, a
    /// literal).
    fn expr_type(&self, e: &SqlExpr) -> Option<Type> {
        match e {
            SqlExpr::Identifier(i) => self.column(&i.value),
            SqlExpr::CompoundIdentifier(ids) => self.column(&ids.last()?.value),
            SqlExpr::Cast { data_type, .. } => {
                translate_data_type(data_type).ok().map(|t| pg_type_of(&t))
            }
            SqlExpr::Nested(e) => self.expr_type(e),
            SqlExpr::Value(SqlValue::Number(n, _)) => Some(if !n.is_integer() {
                Type::FLOAT8
            } else {
                Type::INT8
            }),
            SqlExpr::Value(SqlValue::SingleQuotedString(_)) => Some(Type::TEXT),
            SqlExpr::Value(SqlValue::Boolean(_)) => Some(Type::BOOL),
            _ => None,
        }
    }
}

/// The parameter types of a statement with `count` parameters: the
/// client's (`declared`, 0 = unspecified), else inferred, else text.
pub fn param_types(
    storage: &SharedMemoryStorage,
    sql: &SqlStatement,
    count: usize,
    declared: &[u32],
) -> Vec<Type> {
    let tables = Tables::of(storage, sql);
    let mut inferred: Vec<Option<Type>> = vec![None; count];
    let mut set = |e: &SqlExpr, ty: Option<Type>| {
        if let (Some(n), Some(ty)) = (placeholder_index(e), ty) {
            if let Some(slot @ None) = n.checked_sub(1).and_then(|i| inferred.get_mut(i)) {
                *slot = Some(ty);
            }
        }
    };
    match sql {
        SqlStatement::Insert(insert) => {
            let table = insert.table_name.0.last().map(|i| i.value.as_str());
            let defs = table.and_then(|t| tables.table(t)).unwrap_or(&[]);
            let targets: Vec<Option<Type>> = if insert.columns.is_empty() {
                defs.iter()
                    .map(|d| Some(pg_type_of(&d.data_type)))
                    .collect()
            } else {
                insert
                    .columns
                    .iter()
                    .map(|c| {
                        defs.iter()
                            .find(|d| d.name == c.value)
                            .map(|d| pg_type_of(&d.data_type))
                    })
                    .collect()
            };
            if let Some(SqlSetExpr::Values(values)) = insert.source.as_deref().map(|q| &*q.body) {
                for row in &values.rows {
                    for (e, ty) in row.iter().zip(&targets) {
                        set(e, ty.clone());
                    }
                }
            }
        }
        SqlStatement::Update { assignments, .. } => {
            for a in assignments {
                if let AssignmentTarget::ColumnName(name) = &a.target {
                    set(
                        &a.value,
                        name.0.last().and_then(|c| tables.column(&c.value)),
                    );
                }
            }
        }
        SqlStatement::Query(q) => {
            if let Some(limit) = &q.limit {
                set(limit, Some(Type::INT8));
            }
            if let Some(offset) = &q.offset {
                set(&offset.value, Some(Type::INT8));
            }
        }
        _ => {}
    }
    let _ = visit_expressions(sql, |e| {
        match e {
            SqlExpr::BinaryOp { left, op, right } => {
                let beside = |other: &SqlExpr| match op {
                    SqlOp::StringConcat => Some(Type::TEXT),
                    SqlOp::And | SqlOp::Or => Some(Type::BOOL),
                    _ => tables.expr_type(other),
                };
                set(left, beside(right));
                set(right, beside(left));
            }
            SqlExpr::Between {
                expr, low, high, ..
            } => {
                let ty = tables.expr_type(expr);
                set(low, ty.clone());
                set(high, ty);
                set(
                    expr,
                    tables.expr_type(low).or_else(|| tables.expr_type(high)),
                );
            }
            SqlExpr::InList { expr, list, .. } => {
                let ty = tables.expr_type(expr);
                for item in list {
                    set(item, ty.clone());
                }
            }
            SqlExpr::Cast { expr, .. } => set(expr, tables.expr_type(e)),
            SqlExpr::Like { expr, pattern, .. } | SqlExpr::ILike { expr, pattern, .. } => {
                set(expr, Some(Type::TEXT));
                set(pattern, Some(Type::TEXT));
            }
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    (0..count.max(declared.len()))
        .map(|i| match declared.get(i) {
            Some(&oid) if oid != 0 => Type::from_oid(oid).unwrap_or(Type::TEXT),
            _ => inferred.get(i).cloned().flatten().unwrap_or(Type::TEXT),
        })
        .collect()
}

/// A value of parameter type `ty` to describe a statement with: its type
/// shows through where the parameter is a result column.
fn sample_param(ty: &Type) -> ParamLiteral {
    match *ty {
        Type::BOOL => false.into_param_literal(),
        Type::INT2 => 0i16.into_param_literal(),
        Type::INT4 => 0i32.into_param_literal(),
        Type::INT8 => 0i64.into_param_literal(),
        Type::FLOAT4 => 0f32.into_param_literal(),
        Type::FLOAT8 => 0f64.into_param_literal(),
        Type::NUMERIC => rust_decimal::Decimal::ZERO.into_param_literal(),
        Type::TEXT | Type::VARCHAR => String::new().into_param_literal(),
        _ => ParamLiteral::null(),
    }
}

/// The result columns of a statement GlueSQL runs (`None` if it returns
/// no rows).
pub fn result_fields(
    storage: &mut SharedMemoryStorage,
    sql: &SqlStatement,
    param_types: &[Type],
) -> Result<Option<Schema>, ErrorInfo> {
    let params: Vec<ParamLiteral> = param_types.iter().map(sample_param).collect();
    let stmt = translate_with_params(sql, &params).map_err(glue_error)?;
    match stmt {
        Statement::Query(q) => query_fields(storage, q).map(Some),
        Statement::ShowColumns { .. } | Statement::ShowVariable(_) | Statement::ShowIndexes(_) => {
            Ok(payload_fields(&dry_run(storage, stmt)?, &[]))
        }
        _ => Ok(None),
    }
}

fn query_fields(storage: &mut SharedMemoryStorage, q: Query) -> Result<Schema, ErrorInfo> {
    let known = static_fields(storage, &q)?;
    if let Some(fields) = &known {
        if fields.iter().all(|(_, t)| t.is_some()) {
            return Ok(Arc::from(
                fields
                    .iter()
                    .map(|(name, t)| FieldInfo::new(name.clone(), t.clone().unwrap_or(Type::TEXT)))
                    .collect::<Vec<_>>(),
            ));
        }
    }
    // Some column's type is unknown: run the query for one row.
    let mut probe = q;
    probe.limit = Some(Expr::Value(Value::I64(1)));
    let payload = dry_run(storage, Statement::Query(probe));
    match (payload, known) {
        (Ok(Payload::Select { labels, rows }), known) => {
            let first = rows.first();
            let known = known.filter(|k| k.len() == labels.len());
            Ok(Arc::from(
                labels
                    .iter()
                    .enumerate()
                    .map(|(i, label)| {
                        let ty = known
                            .as_ref()
                            .and_then(|k| k[i].1.clone())
                            .or_else(|| first.and_then(|r| r.get(i)).and_then(value_type))
                            .unwrap_or(Type::TEXT);
                        FieldInfo::new(label.clone(), ty)
                    })
                    .collect::<Vec<_>>(),
            ))
        }
        (Ok(other), _) => Ok(payload_fields(&other, &[]).unwrap_or_else(|| Arc::from(vec![]))),
        (Err(_), Some(known)) => Ok(Arc::from(
            known
                .iter()
                .map(|(name, t)| FieldInfo::new(name.clone(), t.clone().unwrap_or(Type::TEXT)))
                .collect::<Vec<_>>(),
        )),
        (Err(e), None) => Err(e),
    }
}

/// The tables in a query's `FROM`: their names (or aliases) and columns
/// (`None` for a subquery, a schemaless table, ...).
struct Scope(Vec<(String, Option<Vec<ColumnDef>>)>);

impl Scope {
    fn of(storage: &SharedMemoryStorage, from: &TableWithJoins) -> Result<Scope, ErrorInfo> {
        let mut tables = Vec::new();
        for factor in std::iter::once(&from.relation).chain(from.joins.iter().map(|j| &j.relation))
        {
            tables.push(match factor {
                TableFactor::Table { name, alias } => {
                    let schema =
                        storage
                            .fetch_schema(name)
                            .map_err(glue_error)?
                            .ok_or_else(|| {
                                ErrorInfo::new(
                                    SqlState::UNDEFINED_TABLE,
                                    format!("relation \"{name}\" does not exist"),
                                )
                            })?;
                    let shown = alias.as_ref().map_or(name, |a| &a.name).clone();
                    (shown, schema.column_defs)
                }
                TableFactor::Derived { alias, .. }
                | TableFactor::Series { alias, .. }
                | TableFactor::Dictionary { alias, .. } => (alias.name.clone(), None),
            });
        }
        Ok(Scope(tables))
    }

    fn column(&self, table: Option<&str>, name: &str) -> Option<Type> {
        self.0
            .iter()
            .filter(|(t, _)| table.is_none_or(|want| want == t))
            .filter_map(|(_, defs)| defs.as_ref())
            .flatten()
            .find(|d| d.name == name)
            .map(|d| pg_type_of(&d.data_type))
    }
}

type Fields = Vec<(String, Option<Type>)>;

/// The result column types of a query as far as the schemas tell, for
/// results not described beforehand (simple queries): both protocols then
/// send a column with the same type.
pub fn column_types(storage: &SharedMemoryStorage, q: &Query) -> Option<Vec<Option<Type>>> {
    let fields = static_fields(storage, q).ok()??;
    Some(fields.into_iter().map(|(_, t)| t).collect())
}

/// The result columns of a query as far as the schemas tell; `None` when
/// even the column list is unknown (`SELECT *` from a subquery).
fn static_fields(storage: &SharedMemoryStorage, q: &Query) -> Result<Option<Fields>, ErrorInfo> {
    let SetExpr::Select(select) = &q.body else {
        return Ok(None);
    };
    let scope = Scope::of(storage, &select.from)?;
    let Projection::SelectItems(items) = &select.projection;
    let mut out = Vec::new();
    for item in items {
        match item {
            SelectItem::Expr { expr, label } => out.push((label.clone(), expr_type(&scope, expr))),
            SelectItem::Wildcard | SelectItem::QualifiedWildcard(_) => {
                let only = match item {
                    SelectItem::QualifiedWildcard(t) => Some(t.as_str()),
                    _ => None,
                };
                for (table, defs) in &scope.0 {
                    if only.is_some_and(|t| t != table) {
                        continue;
                    }
                    let Some(defs) = defs else {
                        return Ok(None);
                    };
                    out.extend(
                        defs.iter()
                            .map(|d| (d.name.clone(), Some(pg_type_of(&d.data_type)))),
                    );
                }
            }
        }
    }
    Ok(Some(out))
}

fn expr_type(scope: &Scope, e: &Expr) -> Option<Type> {
    match e {
        Expr::Identifier(c) => scope.column(None, c),
        Expr::CompoundIdentifier { alias, ident } => scope.column(Some(alias), ident),
        // As in PostgreSQL, an integer literal is an integer if it fits
        // (GlueSQL makes it a bigint, converted when sent). GlueSQL
        // computes other numbers in floating point: double precision.
        Expr::Literal(Literal::Number(n)) if n.is_integer() => {
            let digits = n.to_string();
            if digits.parse::<i32>().is_ok() {
                Some(Type::INT4)
            } else {
                digits.parse::<i64>().is_ok().then_some(Type::INT8)
            }
        }
        Expr::Literal(Literal::Number(_)) => Some(Type::FLOAT8),
        Expr::Literal(Literal::QuotedString(_)) => Some(Type::TEXT),
        Expr::Value(v) => value_type(v),
        Expr::TypedString { data_type, .. } => Some(pg_type_of(data_type)),
        Expr::Nested(e) => expr_type(scope, e),
        Expr::IsNull(_)
        | Expr::IsNotNull(_)
        | Expr::InList { .. }
        | Expr::InSubquery { .. }
        | Expr::Between { .. }
        | Expr::Like { .. }
        | Expr::ILike { .. }
        | Expr::Regex { .. }
        | Expr::Exists { .. }
        | Expr::UnaryOp {
            op: UnaryOperator::Not,
            ..
        } => Some(Type::BOOL),
        Expr::BinaryOp { left, op, right } => match op {
            BinaryOperator::Gt
            | BinaryOperator::Lt
            | BinaryOperator::GtEq
            | BinaryOperator::LtEq
            | BinaryOperator::Eq
            | BinaryOperator::NotEq
            | BinaryOperator::And
            | BinaryOperator::Or
            | BinaryOperator::Xor => Some(Type::BOOL),
            BinaryOperator::StringConcat => Some(Type::TEXT),
            BinaryOperator::Arrow => None,
            _ => {
                let l = expr_type(scope, left)?;
                (Some(&l) == expr_type(scope, right).as_ref()).then_some(l)
            }
        },
        Expr::UnaryOp {
            op: UnaryOperator::Plus | UnaryOperator::Minus,
            expr,
        } => expr_type(scope, expr),
        Expr::Function(f) => function_type(scope, f),
        Expr::Aggregate(a) => match &a.func {
            AggregateFunction::Count(_) => Some(Type::INT8),
            AggregateFunction::Avg(_)
            | AggregateFunction::Variance(_)
            | AggregateFunction::Stdev(_) => Some(Type::FLOAT8),
            AggregateFunction::Sum(e) | AggregateFunction::Max(e) | AggregateFunction::Min(e) => {
                expr_type(scope, e)
            }
        },
        Expr::Case {
            when_then,
            else_result,
            ..
        } => when_then
            .iter()
            .map(|(_, then)| then)
            .chain(else_result.as_deref())
            .find_map(|e| expr_type(scope, e)),
        _ => None,
    }
}

fn function_type(scope: &Scope, f: &Function) -> Option<Type> {
    Some(match f {
        Function::Cast { data_type, .. } => pg_type_of(data_type),
        Function::Lower(_)
        | Function::Upper(_)
        | Function::Initcap(_)
        | Function::Left { .. }
        | Function::Right { .. }
        | Function::Lpad { .. }
        | Function::Rpad { .. }
        | Function::Replace { .. }
        | Function::Concat(_)
        | Function::ConcatWs { .. }
        | Function::Trim { .. }
        | Function::Ltrim { .. }
        | Function::Rtrim { .. }
        | Function::Reverse(_)
        | Function::Repeat { .. }
        | Function::Substr { .. }
        | Function::Md5(_)
        | Function::Hex(_) => Type::TEXT,
        Function::Now() | Function::CurrentTimestamp() => Type::TIMESTAMP,
        Function::CurrentDate() => Type::DATE,
        Function::CurrentTime() => Type::TIME,
        Function::GenerateUuid() => Type::UUID,
        Function::Coalesce(args) => return args.iter().find_map(|e| expr_type(scope, e)),
        _ => return None,
    })
}
