//! The replication command language: what a client sends as a simple
//! Query on a replication connection ("Streaming Replication Protocol"):
//! IDENTIFY_SYSTEM, SHOW, TIMELINE_HISTORY, CREATE_REPLICATION_SLOT (the
//! option-list syntax of PostgreSQL 15+ and the older keyword syntax),
//! ALTER_REPLICATION_SLOT, READ_REPLICATION_SLOT, DROP_REPLICATION_SLOT,
//! START_REPLICATION (physical and logical), BASE_BACKUP and
//! UPLOAD_MANIFEST (parsed only: options as written).
//!
//! [`ReplicationCommand::parse`] reads a command the way PostgreSQL's
//! walsender does (keywords in any case, unquoted names folded to lower
//! case, `"quoted"` names, `'strings'`, `X/X` positions, an optional
//! trailing `;`) and answers `None` for text that is not a replication
//! command (plain SQL on a `replication=database` connection). `Display`
//! writes the command back in the current syntax.
//!
//! ```
//! use pgwire::replication::command::{ReplicationCommand, SlotKind};
//!
//! let cmd = ReplicationCommand::parse(
//!     "CREATE_REPLICATION_SLOT s1 LOGICAL pgoutput (SNAPSHOT 'nothing', TWO_PHASE)",
//! )
//! .unwrap()
//! .unwrap();
//! let ReplicationCommand::CreateReplicationSlot(create) = &cmd else { panic!() };
//! assert_eq!(create.kind, SlotKind::Logical { plugin: "pgoutput".into() });
//! assert_eq!(create.snapshot(), Some("nothing"));
//! assert!(create.two_phase());
//! assert_eq!(
//!     cmd.to_string(),
//!     "CREATE_REPLICATION_SLOT s1 LOGICAL pgoutput (snapshot 'nothing', two_phase)"
//! );
//! assert!(ReplicationCommand::parse("SELECT 1").unwrap().is_none());
//! ```

use std::fmt::{self, Write as _};

use super::lsn::Lsn;

/// A replication command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplicationCommand {
    /// `IDENTIFY_SYSTEM`.
    IdentifySystem,
    /// `SHOW name` (a dotted name for custom settings).
    Show(String),
    /// `TIMELINE_HISTORY tli`.
    TimelineHistory(u32),
    /// `CREATE_REPLICATION_SLOT ...`.
    CreateReplicationSlot(CreateReplicationSlot),
    /// `ALTER_REPLICATION_SLOT slot ( option [, ...] )`.
    AlterReplicationSlot {
        /// The slot.
        slot: String,
        /// The options as written.
        options: Vec<CommandOption>,
    },
    /// `READ_REPLICATION_SLOT slot`.
    ReadReplicationSlot(String),
    /// `DROP_REPLICATION_SLOT slot [ WAIT ]`.
    DropReplicationSlot {
        /// The slot.
        slot: String,
        /// Wait for an active slot to become inactive instead of failing.
        wait: bool,
    },
    /// `START_REPLICATION [ SLOT s ] [ PHYSICAL ] X/X [ TIMELINE tli ]`.
    StartPhysicalReplication(StartPhysicalReplication),
    /// `START_REPLICATION SLOT s LOGICAL X/X [ ( name [ 'value' ] [, ...] ) ]`.
    StartLogicalReplication(StartLogicalReplication),
    /// `BASE_BACKUP [ ( option [, ...] ) ]` (options as written).
    BaseBackup(Vec<CommandOption>),
    /// `UPLOAD_MANIFEST`.
    UploadManifest,
}

/// The kind of slot to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotKind {
    /// `PHYSICAL`.
    Physical,
    /// `LOGICAL plugin`.
    Logical {
        /// The output plugin (`pgoutput`, `test_decoding`...).
        plugin: String,
    },
}

/// `CREATE_REPLICATION_SLOT slot [ TEMPORARY ] { PHYSICAL | LOGICAL plugin }
/// [ ( option [, ...] ) | legacy options ]`.
///
/// The older syntax's options are stored as PostgreSQL maps them:
/// `EXPORT_SNAPSHOT` / `NOEXPORT_SNAPSHOT` / `USE_SNAPSHOT` as `snapshot`
/// `'export'` / `'nothing'` / `'use'`, `RESERVE_WAL` and `TWO_PHASE` as
/// those options without a value (true).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateReplicationSlot {
    /// The slot's name.
    pub slot: String,
    /// Dropped at the end of the session?
    pub temporary: bool,
    /// Physical or logical (with its plugin).
    pub kind: SlotKind,
    /// The options (`snapshot`, `two_phase`, `reserve_wal`, `failover`...).
    pub options: Vec<CommandOption>,
}

impl CreateReplicationSlot {
    /// The value of option `name` (`Some(None)` when given without value).
    pub fn option(&self, name: &str) -> Option<Option<&OptionValue>> {
        find_option(&self.options, name)
    }

    /// The `snapshot` option: `export`, `use` or `nothing`.
    pub fn snapshot(&self) -> Option<&str> {
        match self.option("snapshot")?? {
            OptionValue::Word(s) | OptionValue::String(s) => Some(s),
            OptionValue::Number(_) => None,
        }
    }

    /// The `two_phase` option as a boolean (false when absent).
    pub fn two_phase(&self) -> bool {
        bool_option(&self.options, "two_phase")
    }

    /// The `reserve_wal` option as a boolean (false when absent).
    pub fn reserve_wal(&self) -> bool {
        bool_option(&self.options, "reserve_wal")
    }

    /// The `failover` option as a boolean (false when absent).
    pub fn failover(&self) -> bool {
        bool_option(&self.options, "failover")
    }

    /// The command in the syntax of servers before PostgreSQL 15
    /// (keywords instead of an option list), `None` when an option has no
    /// keyword form.
    pub fn to_legacy_syntax(&self) -> Option<String> {
        let mut out = String::from("CREATE_REPLICATION_SLOT ");
        push_ident(&mut out, &self.slot);
        if self.temporary {
            out.push_str(" TEMPORARY");
        }
        match &self.kind {
            SlotKind::Physical => out.push_str(" PHYSICAL"),
            SlotKind::Logical { plugin } => {
                out.push_str(" LOGICAL ");
                push_ident(&mut out, plugin);
            }
        }
        for o in &self.options {
            let word = match (o.name.as_str(), &o.value) {
                ("snapshot", Some(OptionValue::Word(v) | OptionValue::String(v))) => {
                    match v.as_str() {
                        "export" => "EXPORT_SNAPSHOT",
                        "nothing" => "NOEXPORT_SNAPSHOT",
                        "use" => "USE_SNAPSHOT",
                        _ => return None,
                    }
                }
                ("reserve_wal", _) if bool_value(o.value.as_ref()) == Some(true) => "RESERVE_WAL",
                ("two_phase", _) if bool_value(o.value.as_ref()) == Some(true) => "TWO_PHASE",
                (_, _) if bool_value(o.value.as_ref()) == Some(false) => continue,
                _ => return None,
            };
            out.push(' ');
            out.push_str(word);
        }
        Some(out)
    }
}

/// `START_REPLICATION [ SLOT slot ] [ PHYSICAL ] X/X [ TIMELINE tli ]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartPhysicalReplication {
    /// The slot, if any.
    pub slot: Option<String>,
    /// Where to start.
    pub start: Lsn,
    /// The timeline (`None`: the server's current one).
    pub timeline: Option<u32>,
}

/// `START_REPLICATION SLOT slot LOGICAL X/X [ ( name [ 'value' ] [, ...] ) ]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartLogicalReplication {
    /// The slot.
    pub slot: String,
    /// Where to start (`0/0`: the slot's confirmed position).
    pub start: Lsn,
    /// The output plugin's options, e.g. `proto_version '1'`,
    /// `publication_names 'p'`.
    pub options: Vec<PluginOption>,
}

impl StartLogicalReplication {
    /// The value of plugin option `name`.
    pub fn option(&self, name: &str) -> Option<Option<&str>> {
        self.options
            .iter()
            .find(|o| o.name == name)
            .map(|o| o.value.as_deref())
    }
}

/// An option of a logical START_REPLICATION.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginOption {
    /// Its name (folded to lower case unless quoted).
    pub name: String,
    /// Its value (always a string literal in this syntax).
    pub value: Option<String>,
}

impl PluginOption {
    /// `name 'value'`.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> PluginOption {
        PluginOption {
            name: name.into(),
            value: Some(value.into()),
        }
    }
}

/// An option in a parenthesised option list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOption {
    /// Its name (lower case; keywords are allowed as names).
    pub name: String,
    /// Its value, if written.
    pub value: Option<OptionValue>,
}

impl CommandOption {
    /// An option with a value.
    pub fn new(name: impl Into<String>, value: OptionValue) -> CommandOption {
        CommandOption {
            name: name.into(),
            value: Some(value),
        }
    }

    /// An option written without a value (a true boolean).
    pub fn flag(name: impl Into<String>) -> CommandOption {
        CommandOption {
            name: name.into(),
            value: None,
        }
    }
}

/// The value of a [`CommandOption`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionValue {
    /// A bare word (`true`, `off`...), folded to lower case.
    Word(String),
    /// A `'string'`.
    String(String),
    /// An unsigned number.
    Number(u32),
}

fn find_option<'a>(options: &'a [CommandOption], name: &str) -> Option<Option<&'a OptionValue>> {
    // The last occurrence wins, as for a repeated GUC-style option.
    options
        .iter()
        .rev()
        .find(|o| o.name == name)
        .map(|o| o.value.as_ref())
}

/// A boolean as PostgreSQL's `defGetBoolean` reads one: no value is true;
/// `true`/`false`/`on`/`off` in any case, 1 and 0.
fn bool_value(v: Option<&OptionValue>) -> Option<bool> {
    match v {
        None => Some(true),
        Some(OptionValue::Number(0)) => Some(false),
        Some(OptionValue::Number(1)) => Some(true),
        Some(OptionValue::Number(_)) => None,
        Some(OptionValue::Word(s) | OptionValue::String(s)) => {
            match s.to_ascii_lowercase().as_str() {
                "true" | "on" | "1" => Some(true),
                "false" | "off" | "0" => Some(false),
                _ => None,
            }
        }
    }
}

fn bool_option(options: &[CommandOption], name: &str) -> bool {
    find_option(options, name).is_some_and(|v| bool_value(v) == Some(true))
}

// ------------------------------------------------------------------ errors

/// A replication command that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandParseError {
    /// What is wrong.
    pub message: String,
    /// The byte offset in the command where it went wrong.
    pub position: usize,
}

impl CommandParseError {
    /// The SQLSTATE a server answers with: 42601 (syntax_error).
    pub fn sql_state_code(&self) -> &'static str {
        "42601"
    }
}

impl fmt::Display for CommandParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.message, self.position)
    }
}

impl std::error::Error for CommandParseError {}

// ------------------------------------------------------------------- lexer

/// The keywords of the replication grammar.
const KEYWORDS: &[&str] = &[
    "alter_replication_slot",
    "base_backup",
    "create_replication_slot",
    "drop_replication_slot",
    "export_snapshot",
    "identify_system",
    "logical",
    "noexport_snapshot",
    "physical",
    "read_replication_slot",
    "reserve_wal",
    "show",
    "slot",
    "start_replication",
    "temporary",
    "timeline",
    "timeline_history",
    "two_phase",
    "upload_manifest",
    "use_snapshot",
    "wait",
];

/// The words that start a replication command.
const COMMAND_KEYWORDS: &[&str] = &[
    "identify_system",
    "base_backup",
    "start_replication",
    "create_replication_slot",
    "drop_replication_slot",
    "alter_replication_slot",
    "read_replication_slot",
    "timeline_history",
    "upload_manifest",
    "show",
];

/// PostgreSQL truncates identifiers to NAMEDATALEN - 1 bytes.
const MAX_IDENTIFIER_BYTES: usize = 63;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// An unquoted word, folded to lower case: a keyword or a name.
    Word(String),
    /// A `"quoted"` name: never a keyword.
    Quoted(String),
    Str(String),
    Number(u32),
    Lsn(Lsn),
    Punct(u8),
}

struct Lexer<'a> {
    src: &'a [u8],
    text: &'a str,
    pos: usize,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_ident_cont(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit() || b == b'$'
}

/// Truncates to at most `max` bytes on a character boundary.
fn truncate_identifier(mut s: String) -> String {
    if s.len() > MAX_IDENTIFIER_BYTES {
        let mut end = MAX_IDENTIFIER_BYTES;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str) -> Lexer<'a> {
        Lexer {
            src: text.as_bytes(),
            text,
            pos: 0,
        }
    }

    fn error(&self, message: impl Into<String>, position: usize) -> CommandParseError {
        CommandParseError {
            message: message.into(),
            position,
        }
    }

    fn peek_byte(&self, at: usize) -> Option<u8> {
        self.src.get(at).copied()
    }

    /// The next token and where it starts; `None` at the end.
    fn next(&mut self) -> Result<Option<(Token, usize)>, CommandParseError> {
        while self
            .peek_byte(self.pos)
            .is_some_and(|b| b.is_ascii_whitespace() || b == 0x0b)
        {
            self.pos += 1;
        }
        let start = self.pos;
        let Some(b) = self.peek_byte(start) else {
            return Ok(None);
        };
        // `X/X` first: the longest match wins over a number or a word.
        let hex_end = start
            + self.src[start..]
                .iter()
                .take_while(|b| b.is_ascii_hexdigit())
                .count();
        if hex_end > start && self.peek_byte(hex_end) == Some(b'/') {
            let lo_end = hex_end
                + 1
                + self.src[hex_end + 1..]
                    .iter()
                    .take_while(|b| b.is_ascii_hexdigit())
                    .count();
            if lo_end > hex_end + 1 {
                self.pos = lo_end;
                let lsn = self.text[start..lo_end]
                    .parse::<Lsn>()
                    .map_err(|_| self.error("invalid WAL location", start))?;
                return Ok(Some((Token::Lsn(lsn), start)));
            }
        }
        if b.is_ascii_digit() {
            let end = start
                + self.src[start..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count();
            self.pos = end;
            let n = self.text[start..end]
                .parse::<u32>()
                .map_err(|_| self.error("number out of range", start))?;
            return Ok(Some((Token::Number(n), start)));
        }
        if is_ident_start(b) {
            let end = start
                + self.src[start..]
                    .iter()
                    .take_while(|&&b| is_ident_cont(b))
                    .count();
            self.pos = end;
            let word = truncate_identifier(self.text[start..end].to_ascii_lowercase());
            return Ok(Some((Token::Word(word), start)));
        }
        match b {
            b'"' | b'\'' => {
                let quote = b;
                let mut out = Vec::new();
                let mut i = start + 1;
                loop {
                    match self.peek_byte(i) {
                        None => {
                            let what = if quote == b'"' {
                                "unterminated quoted identifier"
                            } else {
                                "unterminated quoted string"
                            };
                            return Err(self.error(what, start));
                        }
                        Some(c) if c == quote => {
                            if self.peek_byte(i + 1) == Some(quote) {
                                out.push(quote);
                                i += 2;
                            } else {
                                i += 1;
                                break;
                            }
                        }
                        Some(c) => {
                            out.push(c);
                            i += 1;
                        }
                    }
                }
                self.pos = i;
                // Built from whole UTF-8 characters plus ASCII quotes.
                let s = String::from_utf8(out).map_err(|_| self.error("invalid UTF-8", start))?;
                if quote == b'"' {
                    if s.is_empty() {
                        return Err(self.error("zero-length delimited identifier", start));
                    }
                    Ok(Some((Token::Quoted(truncate_identifier(s)), start)))
                } else {
                    Ok(Some((Token::Str(s), start)))
                }
            }
            b'(' | b')' | b',' | b';' | b'.' => {
                self.pos += 1;
                Ok(Some((Token::Punct(b), start)))
            }
            _ => Err(self.error(
                format!(
                    "syntax error: unexpected character {:?}",
                    self.text[start..].chars().next().unwrap_or('?')
                ),
                start,
            )),
        }
    }
}

// ------------------------------------------------------------------ parser

struct Parser {
    tokens: Vec<(Token, usize)>,
    at: usize,
    end: usize,
}

fn is_keyword(word: &str) -> bool {
    KEYWORDS.contains(&word)
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at).map(|(t, _)| t)
    }

    fn position(&self) -> usize {
        self.tokens.get(self.at).map_or(self.end, |(_, p)| *p)
    }

    fn error(&self, message: impl Into<String>) -> CommandParseError {
        CommandParseError {
            message: message.into(),
            position: self.position(),
        }
    }

    fn unexpected(&self, expected: &str) -> CommandParseError {
        match self.peek() {
            None => self.error(format!("syntax error: expected {expected} at end of input")),
            Some(t) => self.error(format!(
                "syntax error: expected {expected}, found {}",
                describe(t)
            )),
        }
    }

    fn bump(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).map(|(t, _)| t.clone());
        if t.is_some() {
            self.at += 1;
        }
        t
    }

    fn eat_keyword(&mut self, kw: &str) -> bool {
        if matches!(self.peek(), Some(Token::Word(w)) if w == kw) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn eat_punct(&mut self, p: u8) -> bool {
        if self.peek() == Some(&Token::Punct(p)) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expect_punct(&mut self, p: u8) -> Result<(), CommandParseError> {
        if self.eat_punct(p) {
            Ok(())
        } else {
            Err(self.unexpected(&format!("\"{}\"", p as char)))
        }
    }

    /// An IDENT token: an unquoted non-keyword word or a quoted name.
    fn ident(&mut self, what: &str) -> Result<String, CommandParseError> {
        match self.peek() {
            Some(Token::Word(w)) if !is_keyword(w) => {
                let w = w.clone();
                self.at += 1;
                Ok(w)
            }
            Some(Token::Quoted(q)) => {
                let q = q.clone();
                self.at += 1;
                Ok(q)
            }
            _ => Err(self.unexpected(what)),
        }
    }

    /// A name where keywords are allowed too (option names).
    fn ident_or_keyword(&mut self, what: &str) -> Result<String, CommandParseError> {
        match self.peek() {
            Some(Token::Word(w) | Token::Quoted(w)) => {
                let w = w.clone();
                self.at += 1;
                Ok(w)
            }
            _ => Err(self.unexpected(what)),
        }
    }

    fn number(&mut self, what: &str) -> Result<u32, CommandParseError> {
        match self.peek() {
            Some(Token::Number(n)) => {
                let n = *n;
                self.at += 1;
                Ok(n)
            }
            _ => Err(self.unexpected(what)),
        }
    }

    fn timeline(&mut self) -> Result<u32, CommandParseError> {
        let pos = self.position();
        let t = self.number("a timeline number")?;
        if t == 0 {
            return Err(CommandParseError {
                message: "invalid timeline 0".into(),
                position: pos,
            });
        }
        Ok(t)
    }

    fn lsn(&mut self) -> Result<Lsn, CommandParseError> {
        match self.peek() {
            Some(Token::Lsn(l)) => {
                let l = *l;
                self.at += 1;
                Ok(l)
            }
            _ => Err(self.unexpected("a WAL location (X/X)")),
        }
    }

    /// `( option [value] [, ...] )`, the opening parenthesis consumed.
    fn generic_options(&mut self) -> Result<Vec<CommandOption>, CommandParseError> {
        let mut options = Vec::new();
        loop {
            let name = self.ident_or_keyword("an option name")?;
            let value = match self.peek() {
                Some(Token::Word(w)) if !is_keyword(w) => {
                    let v = OptionValue::Word(w.clone());
                    self.at += 1;
                    Some(v)
                }
                Some(Token::Quoted(w)) => {
                    let v = OptionValue::Word(w.clone());
                    self.at += 1;
                    Some(v)
                }
                Some(Token::Str(s)) => {
                    let v = OptionValue::String(s.clone());
                    self.at += 1;
                    Some(v)
                }
                Some(Token::Number(n)) => {
                    let v = OptionValue::Number(*n);
                    self.at += 1;
                    Some(v)
                }
                _ => None,
            };
            options.push(CommandOption { name, value });
            if self.eat_punct(b')') {
                return Ok(options);
            }
            self.expect_punct(b',')?;
        }
    }

    fn command(&mut self) -> Result<ReplicationCommand, CommandParseError> {
        let Some(Token::Word(first)) = self.bump() else {
            return Err(self.error("syntax error"));
        };
        Ok(match first.as_str() {
            "identify_system" => ReplicationCommand::IdentifySystem,
            "upload_manifest" => ReplicationCommand::UploadManifest,
            "show" => {
                let mut name = self.ident("a setting name")?;
                while self.eat_punct(b'.') {
                    name.push('.');
                    name.push_str(&self.ident("a setting name")?);
                }
                ReplicationCommand::Show(name)
            }
            "timeline_history" => ReplicationCommand::TimelineHistory(self.timeline()?),
            "read_replication_slot" => {
                ReplicationCommand::ReadReplicationSlot(self.ident("a slot name")?)
            }
            "drop_replication_slot" => {
                let slot = self.ident("a slot name")?;
                let wait = self.eat_keyword("wait");
                ReplicationCommand::DropReplicationSlot { slot, wait }
            }
            "alter_replication_slot" => {
                let slot = self.ident("a slot name")?;
                self.expect_punct(b'(')?;
                let options = self.generic_options()?;
                ReplicationCommand::AlterReplicationSlot { slot, options }
            }
            "base_backup" => {
                let options = if self.eat_punct(b'(') {
                    self.generic_options()?
                } else {
                    Vec::new()
                };
                ReplicationCommand::BaseBackup(options)
            }
            "create_replication_slot" => {
                let slot = self.ident("a slot name")?;
                let temporary = self.eat_keyword("temporary");
                let kind = if self.eat_keyword("physical") {
                    SlotKind::Physical
                } else if self.eat_keyword("logical") {
                    SlotKind::Logical {
                        plugin: self.ident("an output plugin name")?,
                    }
                } else {
                    return Err(self.unexpected("PHYSICAL or LOGICAL"));
                };
                let options = if self.eat_punct(b'(') {
                    self.generic_options()?
                } else {
                    self.legacy_slot_options()
                };
                ReplicationCommand::CreateReplicationSlot(CreateReplicationSlot {
                    slot,
                    temporary,
                    kind,
                    options,
                })
            }
            "start_replication" => self.start_replication()?,
            _ => return Err(self.error("syntax error: not a replication command")),
        })
    }

    fn legacy_slot_options(&mut self) -> Vec<CommandOption> {
        let mut options = Vec::new();
        loop {
            let o = if self.eat_keyword("export_snapshot") {
                CommandOption::new("snapshot", OptionValue::String("export".into()))
            } else if self.eat_keyword("noexport_snapshot") {
                CommandOption::new("snapshot", OptionValue::String("nothing".into()))
            } else if self.eat_keyword("use_snapshot") {
                CommandOption::new("snapshot", OptionValue::String("use".into()))
            } else if self.eat_keyword("reserve_wal") {
                CommandOption::flag("reserve_wal")
            } else if self.eat_keyword("two_phase") {
                CommandOption::flag("two_phase")
            } else {
                return options;
            };
            options.push(o);
        }
    }

    fn start_replication(&mut self) -> Result<ReplicationCommand, CommandParseError> {
        let slot = if self.eat_keyword("slot") {
            Some(self.ident("a slot name")?)
        } else {
            None
        };
        if self.eat_keyword("logical") {
            let Some(slot) = slot else {
                return Err(self.error("syntax error: logical replication needs SLOT name"));
            };
            let start = self.lsn()?;
            let mut options = Vec::new();
            if self.eat_punct(b'(') {
                loop {
                    let name = self.ident("an option name")?;
                    let value = match self.peek() {
                        Some(Token::Str(s)) => {
                            let s = s.clone();
                            self.at += 1;
                            Some(s)
                        }
                        _ => None,
                    };
                    options.push(PluginOption { name, value });
                    if self.eat_punct(b')') {
                        break;
                    }
                    self.expect_punct(b',')?;
                }
            }
            return Ok(ReplicationCommand::StartLogicalReplication(
                StartLogicalReplication {
                    slot,
                    start,
                    options,
                },
            ));
        }
        self.eat_keyword("physical");
        let start = self.lsn()?;
        let timeline = if self.eat_keyword("timeline") {
            Some(self.timeline()?)
        } else {
            None
        };
        Ok(ReplicationCommand::StartPhysicalReplication(
            StartPhysicalReplication {
                slot,
                start,
                timeline,
            },
        ))
    }
}

fn describe(t: &Token) -> String {
    match t {
        Token::Word(w) => format!("\"{w}\""),
        Token::Quoted(q) => format!("quoted name \"{q}\""),
        Token::Str(_) => "a string".into(),
        Token::Number(n) => format!("number {n}"),
        Token::Lsn(l) => format!("WAL location {l}"),
        Token::Punct(p) => format!("\"{}\"", *p as char),
    }
}

impl ReplicationCommand {
    /// Does `query` start with a replication command keyword (what
    /// PostgreSQL checks to tell replication commands from SQL on a
    /// `replication=database` connection)?
    pub fn is_replication_command(query: &str) -> bool {
        match Lexer::new(query).next() {
            Ok(Some((Token::Word(w), _))) => COMMAND_KEYWORDS.contains(&w.as_str()),
            _ => false,
        }
    }

    /// Parses a command. `Ok(None)`: the text does not start with a
    /// replication command keyword (it is SQL).
    pub fn parse(query: &str) -> Result<Option<ReplicationCommand>, CommandParseError> {
        if !Self::is_replication_command(query) {
            return Ok(None);
        }
        let mut lexer = Lexer::new(query);
        let mut tokens = Vec::new();
        while let Some(t) = lexer.next()? {
            tokens.push(t);
        }
        let mut p = Parser {
            tokens,
            at: 0,
            end: query.len(),
        };
        let cmd = p.command()?;
        p.eat_punct(b';');
        if p.peek().is_some() {
            return Err(p.unexpected("the end of the command"));
        }
        Ok(Some(cmd))
    }
}

// -------------------------------------------------------------- formatting

/// Appends a name, double-quoted when it would not read back as itself.
fn push_ident(out: &mut String, name: &str) {
    let plain = name
        .bytes()
        .next()
        .is_some_and(|b| is_ident_start(b) && !b.is_ascii_uppercase())
        && name
            .bytes()
            .all(|b| is_ident_cont(b) && !b.is_ascii_uppercase())
        && !is_keyword(name);
    if plain {
        out.push_str(name);
    } else {
        out.push('"');
        out.push_str(&name.replace('"', "\"\""));
        out.push('"');
    }
}

fn push_literal(out: &mut String, s: &str) {
    out.push('\'');
    out.push_str(&s.replace('\'', "''"));
    out.push('\'');
}

fn push_options(out: &mut String, options: &[CommandOption]) {
    out.push_str(" (");
    for (i, o) in options.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        // Option names may be keywords unquoted.
        if is_keyword(&o.name) {
            out.push_str(&o.name);
        } else {
            push_ident(out, &o.name);
        }
        match &o.value {
            None => {}
            Some(OptionValue::Word(w)) => {
                out.push(' ');
                push_ident(out, w);
            }
            Some(OptionValue::String(s)) => {
                out.push(' ');
                push_literal(out, s);
            }
            Some(OptionValue::Number(n)) => {
                let _ = write!(out, " {n}");
            }
        }
    }
    out.push(')');
}

impl fmt::Display for ReplicationCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        match self {
            ReplicationCommand::IdentifySystem => out.push_str("IDENTIFY_SYSTEM"),
            ReplicationCommand::UploadManifest => out.push_str("UPLOAD_MANIFEST"),
            ReplicationCommand::Show(name) => {
                out.push_str("SHOW ");
                for (i, part) in name.split('.').enumerate() {
                    if i > 0 {
                        out.push('.');
                    }
                    push_ident(&mut out, part);
                }
            }
            ReplicationCommand::TimelineHistory(t) => {
                let _ = write!(out, "TIMELINE_HISTORY {t}");
            }
            ReplicationCommand::ReadReplicationSlot(s) => {
                out.push_str("READ_REPLICATION_SLOT ");
                push_ident(&mut out, s);
            }
            ReplicationCommand::DropReplicationSlot { slot, wait } => {
                out.push_str("DROP_REPLICATION_SLOT ");
                push_ident(&mut out, slot);
                if *wait {
                    out.push_str(" WAIT");
                }
            }
            ReplicationCommand::AlterReplicationSlot { slot, options } => {
                out.push_str("ALTER_REPLICATION_SLOT ");
                push_ident(&mut out, slot);
                push_options(&mut out, options);
            }
            ReplicationCommand::BaseBackup(options) => {
                out.push_str("BASE_BACKUP");
                if !options.is_empty() {
                    push_options(&mut out, options);
                }
            }
            ReplicationCommand::CreateReplicationSlot(c) => {
                out.push_str("CREATE_REPLICATION_SLOT ");
                push_ident(&mut out, &c.slot);
                if c.temporary {
                    out.push_str(" TEMPORARY");
                }
                match &c.kind {
                    SlotKind::Physical => out.push_str(" PHYSICAL"),
                    SlotKind::Logical { plugin } => {
                        out.push_str(" LOGICAL ");
                        push_ident(&mut out, plugin);
                    }
                }
                if !c.options.is_empty() {
                    push_options(&mut out, &c.options);
                }
            }
            ReplicationCommand::StartPhysicalReplication(s) => {
                out.push_str("START_REPLICATION");
                if let Some(slot) = &s.slot {
                    out.push_str(" SLOT ");
                    push_ident(&mut out, slot);
                }
                let _ = write!(out, " PHYSICAL {}", s.start);
                if let Some(t) = s.timeline {
                    let _ = write!(out, " TIMELINE {t}");
                }
            }
            ReplicationCommand::StartLogicalReplication(s) => {
                out.push_str("START_REPLICATION SLOT ");
                push_ident(&mut out, &s.slot);
                let _ = write!(out, " LOGICAL {}", s.start);
                if !s.options.is_empty() {
                    out.push_str(" (");
                    for (i, o) in s.options.iter().enumerate() {
                        if i > 0 {
                            out.push_str(", ");
                        }
                        push_ident(&mut out, &o.name);
                        if let Some(v) = &o.value {
                            out.push(' ');
                            push_literal(&mut out, v);
                        }
                    }
                    out.push(')');
                }
            }
        }
        f.write_str(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> ReplicationCommand {
        ReplicationCommand::parse(s)
            .unwrap_or_else(|e| panic!("{s}: {e}"))
            .unwrap_or_else(|| panic!("{s}: not a replication command"))
    }

    fn reparses(s: &str) {
        let c = parse(s);
        assert_eq!(parse(&c.to_string()), c, "{s} -> {c}");
    }

    #[test]
    fn every_command_parses_and_formats_back() {
        for s in [
            "IDENTIFY_SYSTEM",
            "identify_system;",
            "SHOW wal_segment_size",
            "SHOW my.custom_setting",
            "TIMELINE_HISTORY 2",
            "CREATE_REPLICATION_SLOT s PHYSICAL",
            "CREATE_REPLICATION_SLOT s TEMPORARY PHYSICAL (RESERVE_WAL)",
            "CREATE_REPLICATION_SLOT \"My Slot\" LOGICAL pgoutput (SNAPSHOT 'export', TWO_PHASE true, FAILOVER)",
            "CREATE_REPLICATION_SLOT s LOGICAL test_decoding NOEXPORT_SNAPSHOT TWO_PHASE",
            "CREATE_REPLICATION_SLOT s PHYSICAL RESERVE_WAL",
            "ALTER_REPLICATION_SLOT s (FAILOVER false)",
            "READ_REPLICATION_SLOT s",
            "DROP_REPLICATION_SLOT s",
            "DROP_REPLICATION_SLOT s WAIT",
            "START_REPLICATION 0/0",
            "START_REPLICATION SLOT s PHYSICAL 1/16B3748 TIMELINE 3",
            "START_REPLICATION SLOT s LOGICAL 0/0",
            "START_REPLICATION SLOT \"s\" LOGICAL AB/CD (proto_version '4', publication_names '\"p\",q', streaming 'parallel', binary)",
            "BASE_BACKUP (LABEL 'x''y', PROGRESS, MAX_RATE 32)",
            "BASE_BACKUP",
            "UPLOAD_MANIFEST",
        ] {
            reparses(s);
        }
    }

    #[test]
    fn fields() {
        let ReplicationCommand::CreateReplicationSlot(c) =
            parse("create_replication_slot Foo temporary logical PGOUTPUT use_snapshot")
        else {
            panic!()
        };
        assert_eq!(c.slot, "foo");
        assert!(c.temporary);
        assert_eq!(
            c.kind,
            SlotKind::Logical {
                plugin: "pgoutput".into()
            }
        );
        assert_eq!(c.snapshot(), Some("use"));
        assert!(!c.two_phase());
        assert_eq!(
            c.to_legacy_syntax().unwrap(),
            "CREATE_REPLICATION_SLOT foo TEMPORARY LOGICAL pgoutput USE_SNAPSHOT"
        );
        let ReplicationCommand::StartLogicalReplication(s) = parse(
            "START_REPLICATION SLOT sub LOGICAL 0/16B3748 (proto_version '2', publication_names 'p', streaming 'on')",
        ) else {
            panic!()
        };
        assert_eq!(s.start, Lsn(0x16B3748));
        assert_eq!(s.option("publication_names"), Some(Some("p")));
        assert_eq!(s.option("streaming"), Some(Some("on")));
        let ReplicationCommand::StartPhysicalReplication(p) = parse("START_REPLICATION 0/3000000")
        else {
            panic!()
        };
        assert_eq!((p.slot, p.timeline), (None, None));
        assert_eq!(
            parse("DROP_REPLICATION_SLOT \"we\"\"ird\" WAIT").to_string(),
            "DROP_REPLICATION_SLOT \"we\"\"ird\" WAIT"
        );
    }

    #[test]
    fn sql_is_not_a_command_and_errors_have_positions() {
        for sql in [
            "SELECT 1",
            "",
            "  ",
            "showx",
            "'IDENTIFY_SYSTEM'",
            "\"show\" x",
        ] {
            assert_eq!(ReplicationCommand::parse(sql).unwrap(), None, "{sql}");
        }
        for (bad, pos) in [
            ("TIMELINE_HISTORY 0", 17),
            ("START_REPLICATION", 17),
            ("START_REPLICATION SLOT s LOGICAL 0/0 (", 38),
            ("DROP_REPLICATION_SLOT slot", 22),
            ("CREATE_REPLICATION_SLOT s", 25),
            ("IDENTIFY_SYSTEM extra", 16),
            ("START_REPLICATION LOGICAL 0/0", 26),
            ("SHOW 'x", 5),
            ("START_REPLICATION 123456789/0", 18),
            ("TIMELINE_HISTORY 99999999999", 17),
        ] {
            let e = ReplicationCommand::parse(bad).expect_err(bad);
            assert_eq!(e.position, pos, "{bad}: {e}");
            assert_eq!(e.sql_state_code(), "42601");
        }
    }
}
