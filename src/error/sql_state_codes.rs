// Every SQLSTATE of PostgreSQL 15's `errcodes.txt`, in code order: the code,
// the constant's name and PostgreSQL's condition name. Data only: this file is
// not a module but is `include!`d by `sql_state.rs` (constants and lookup
// table) and by `tests/sql_state_codes.rs` (checked against
// `$(pg_config --sharedir)/errcodes.txt`), each with its own
// `sql_state_codes!` macro. The constant is the condition name in upper case;
// the five condition names PostgreSQL gives to two codes each take
// PostgreSQL's C macro name instead (see `SqlState`'s docs).
sql_state_codes! {
    codes {
        // Class 00: Successful Completion
        "00000" SUCCESSFUL_COMPLETION "successful_completion";

        // Class 01: Warning
        "01000" WARNING "warning";
        "01003" NULL_VALUE_ELIMINATED_IN_SET_FUNCTION "null_value_eliminated_in_set_function";
        "01004" WARNING_STRING_DATA_RIGHT_TRUNCATION "string_data_right_truncation";
        "01006" PRIVILEGE_NOT_REVOKED "privilege_not_revoked";
        "01007" PRIVILEGE_NOT_GRANTED "privilege_not_granted";
        "01008" IMPLICIT_ZERO_BIT_PADDING "implicit_zero_bit_padding";
        "0100C" DYNAMIC_RESULT_SETS_RETURNED "dynamic_result_sets_returned";
        "01P01" DEPRECATED_FEATURE "deprecated_feature";

        // Class 02: No Data (this is also a warning class per the SQL standard)
        "02000" NO_DATA "no_data";
        "02001" NO_ADDITIONAL_DYNAMIC_RESULT_SETS_RETURNED "no_additional_dynamic_result_sets_returned";

        // Class 03: SQL Statement Not Yet Complete
        "03000" SQL_STATEMENT_NOT_YET_COMPLETE "sql_statement_not_yet_complete";

        // Class 08: Connection Exception
        "08000" CONNECTION_EXCEPTION "connection_exception";
        "08001" SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION "sqlclient_unable_to_establish_sqlconnection";
        "08003" CONNECTION_DOES_NOT_EXIST "connection_does_not_exist";
        "08004" SQLSERVER_REJECTED_ESTABLISHMENT_OF_SQLCONNECTION "sqlserver_rejected_establishment_of_sqlconnection";
        "08006" CONNECTION_FAILURE "connection_failure";
        "08007" TRANSACTION_RESOLUTION_UNKNOWN "transaction_resolution_unknown";
        "08P01" PROTOCOL_VIOLATION "protocol_violation";

        // Class 09: Triggered Action Exception
        "09000" TRIGGERED_ACTION_EXCEPTION "triggered_action_exception";

        // Class 0A: Feature Not Supported
        "0A000" FEATURE_NOT_SUPPORTED "feature_not_supported";

        // Class 0B: Invalid Transaction Initiation
        "0B000" INVALID_TRANSACTION_INITIATION "invalid_transaction_initiation";

        // Class 0F: Locator Exception
        "0F000" LOCATOR_EXCEPTION "locator_exception";
        "0F001" INVALID_LOCATOR_SPECIFICATION "invalid_locator_specification";

        // Class 0L: Invalid Grantor
        "0L000" INVALID_GRANTOR "invalid_grantor";
        "0LP01" INVALID_GRANT_OPERATION "invalid_grant_operation";

        // Class 0P: Invalid Role Specification
        "0P000" INVALID_ROLE_SPECIFICATION "invalid_role_specification";

        // Class 0Z: Diagnostics Exception
        "0Z000" DIAGNOSTICS_EXCEPTION "diagnostics_exception";
        "0Z002" STACKED_DIAGNOSTICS_ACCESSED_WITHOUT_ACTIVE_HANDLER "stacked_diagnostics_accessed_without_active_handler";

        // Class 20: Case Not Found
        "20000" CASE_NOT_FOUND "case_not_found";

        // Class 21: Cardinality Violation
        "21000" CARDINALITY_VIOLATION "cardinality_violation";

        // Class 22: Data Exception
        "22000" DATA_EXCEPTION "data_exception";
        "22001" STRING_DATA_RIGHT_TRUNCATION "string_data_right_truncation";
        "22002" NULL_VALUE_NO_INDICATOR_PARAMETER "null_value_no_indicator_parameter";
        "22003" NUMERIC_VALUE_OUT_OF_RANGE "numeric_value_out_of_range";
        "22004" NULL_VALUE_NOT_ALLOWED "null_value_not_allowed";
        "22005" ERROR_IN_ASSIGNMENT "error_in_assignment";
        "22007" INVALID_DATETIME_FORMAT "invalid_datetime_format";
        "22008" DATETIME_FIELD_OVERFLOW "datetime_field_overflow";
        "22009" INVALID_TIME_ZONE_DISPLACEMENT_VALUE "invalid_time_zone_displacement_value";
        "2200B" ESCAPE_CHARACTER_CONFLICT "escape_character_conflict";
        "2200C" INVALID_USE_OF_ESCAPE_CHARACTER "invalid_use_of_escape_character";
        "2200D" INVALID_ESCAPE_OCTET "invalid_escape_octet";
        "2200F" ZERO_LENGTH_CHARACTER_STRING "zero_length_character_string";
        "2200G" MOST_SPECIFIC_TYPE_MISMATCH "most_specific_type_mismatch";
        "2200H" SEQUENCE_GENERATOR_LIMIT_EXCEEDED "sequence_generator_limit_exceeded";
        "2200L" NOT_AN_XML_DOCUMENT "not_an_xml_document";
        "2200M" INVALID_XML_DOCUMENT "invalid_xml_document";
        "2200N" INVALID_XML_CONTENT "invalid_xml_content";
        "2200S" INVALID_XML_COMMENT "invalid_xml_comment";
        "2200T" INVALID_XML_PROCESSING_INSTRUCTION "invalid_xml_processing_instruction";
        "22010" INVALID_INDICATOR_PARAMETER_VALUE "invalid_indicator_parameter_value";
        "22011" SUBSTRING_ERROR "substring_error";
        "22012" DIVISION_BY_ZERO "division_by_zero";
        "22013" INVALID_PRECEDING_OR_FOLLOWING_SIZE "invalid_preceding_or_following_size";
        "22014" INVALID_ARGUMENT_FOR_NTILE_FUNCTION "invalid_argument_for_ntile_function";
        "22015" INTERVAL_FIELD_OVERFLOW "interval_field_overflow";
        "22016" INVALID_ARGUMENT_FOR_NTH_VALUE_FUNCTION "invalid_argument_for_nth_value_function";
        "22018" INVALID_CHARACTER_VALUE_FOR_CAST "invalid_character_value_for_cast";
        "22019" INVALID_ESCAPE_CHARACTER "invalid_escape_character";
        "2201B" INVALID_REGULAR_EXPRESSION "invalid_regular_expression";
        "2201E" INVALID_ARGUMENT_FOR_LOGARITHM "invalid_argument_for_logarithm";
        "2201F" INVALID_ARGUMENT_FOR_POWER_FUNCTION "invalid_argument_for_power_function";
        "2201G" INVALID_ARGUMENT_FOR_WIDTH_BUCKET_FUNCTION "invalid_argument_for_width_bucket_function";
        "2201W" INVALID_ROW_COUNT_IN_LIMIT_CLAUSE "invalid_row_count_in_limit_clause";
        "2201X" INVALID_ROW_COUNT_IN_RESULT_OFFSET_CLAUSE "invalid_row_count_in_result_offset_clause";
        "22021" CHARACTER_NOT_IN_REPERTOIRE "character_not_in_repertoire";
        "22022" INDICATOR_OVERFLOW "indicator_overflow";
        "22023" INVALID_PARAMETER_VALUE "invalid_parameter_value";
        "22024" UNTERMINATED_C_STRING "unterminated_c_string";
        "22025" INVALID_ESCAPE_SEQUENCE "invalid_escape_sequence";
        "22026" STRING_DATA_LENGTH_MISMATCH "string_data_length_mismatch";
        "22027" TRIM_ERROR "trim_error";
        "2202E" ARRAY_SUBSCRIPT_ERROR "array_subscript_error";
        "2202G" INVALID_TABLESAMPLE_REPEAT "invalid_tablesample_repeat";
        "2202H" INVALID_TABLESAMPLE_ARGUMENT "invalid_tablesample_argument";
        "22030" DUPLICATE_JSON_OBJECT_KEY_VALUE "duplicate_json_object_key_value";
        "22031" INVALID_ARGUMENT_FOR_SQL_JSON_DATETIME_FUNCTION "invalid_argument_for_sql_json_datetime_function";
        "22032" INVALID_JSON_TEXT "invalid_json_text";
        "22033" INVALID_SQL_JSON_SUBSCRIPT "invalid_sql_json_subscript";
        "22034" MORE_THAN_ONE_SQL_JSON_ITEM "more_than_one_sql_json_item";
        "22035" NO_SQL_JSON_ITEM "no_sql_json_item";
        "22036" NON_NUMERIC_SQL_JSON_ITEM "non_numeric_sql_json_item";
        "22037" NON_UNIQUE_KEYS_IN_A_JSON_OBJECT "non_unique_keys_in_a_json_object";
        "22038" SINGLETON_SQL_JSON_ITEM_REQUIRED "singleton_sql_json_item_required";
        "22039" SQL_JSON_ARRAY_NOT_FOUND "sql_json_array_not_found";
        "2203A" SQL_JSON_MEMBER_NOT_FOUND "sql_json_member_not_found";
        "2203B" SQL_JSON_NUMBER_NOT_FOUND "sql_json_number_not_found";
        "2203C" SQL_JSON_OBJECT_NOT_FOUND "sql_json_object_not_found";
        "2203D" TOO_MANY_JSON_ARRAY_ELEMENTS "too_many_json_array_elements";
        "2203E" TOO_MANY_JSON_OBJECT_MEMBERS "too_many_json_object_members";
        "2203F" SQL_JSON_SCALAR_REQUIRED "sql_json_scalar_required";
        "2203G" SQL_JSON_ITEM_CANNOT_BE_CAST_TO_TARGET_TYPE "sql_json_item_cannot_be_cast_to_target_type";
        "22P01" FLOATING_POINT_EXCEPTION "floating_point_exception";
        "22P02" INVALID_TEXT_REPRESENTATION "invalid_text_representation";
        "22P03" INVALID_BINARY_REPRESENTATION "invalid_binary_representation";
        "22P04" BAD_COPY_FILE_FORMAT "bad_copy_file_format";
        "22P05" UNTRANSLATABLE_CHARACTER "untranslatable_character";
        "22P06" NONSTANDARD_USE_OF_ESCAPE_CHARACTER "nonstandard_use_of_escape_character";

        // Class 23: Integrity Constraint Violation
        "23000" INTEGRITY_CONSTRAINT_VIOLATION "integrity_constraint_violation";
        "23001" RESTRICT_VIOLATION "restrict_violation";
        "23502" NOT_NULL_VIOLATION "not_null_violation";
        "23503" FOREIGN_KEY_VIOLATION "foreign_key_violation";
        "23505" UNIQUE_VIOLATION "unique_violation";
        "23514" CHECK_VIOLATION "check_violation";
        "23P01" EXCLUSION_VIOLATION "exclusion_violation";

        // Class 24: Invalid Cursor State
        "24000" INVALID_CURSOR_STATE "invalid_cursor_state";

        // Class 25: Invalid Transaction State
        "25000" INVALID_TRANSACTION_STATE "invalid_transaction_state";
        "25001" ACTIVE_SQL_TRANSACTION "active_sql_transaction";
        "25002" BRANCH_TRANSACTION_ALREADY_ACTIVE "branch_transaction_already_active";
        "25003" INAPPROPRIATE_ACCESS_MODE_FOR_BRANCH_TRANSACTION "inappropriate_access_mode_for_branch_transaction";
        "25004" INAPPROPRIATE_ISOLATION_LEVEL_FOR_BRANCH_TRANSACTION "inappropriate_isolation_level_for_branch_transaction";
        "25005" NO_ACTIVE_SQL_TRANSACTION_FOR_BRANCH_TRANSACTION "no_active_sql_transaction_for_branch_transaction";
        "25006" READ_ONLY_SQL_TRANSACTION "read_only_sql_transaction";
        "25007" SCHEMA_AND_DATA_STATEMENT_MIXING_NOT_SUPPORTED "schema_and_data_statement_mixing_not_supported";
        "25008" HELD_CURSOR_REQUIRES_SAME_ISOLATION_LEVEL "held_cursor_requires_same_isolation_level";
        "25P01" NO_ACTIVE_SQL_TRANSACTION "no_active_sql_transaction";
        "25P02" IN_FAILED_SQL_TRANSACTION "in_failed_sql_transaction";
        "25P03" IDLE_IN_TRANSACTION_SESSION_TIMEOUT "idle_in_transaction_session_timeout";

        // Class 26: Invalid SQL Statement Name
        "26000" INVALID_SQL_STATEMENT_NAME "invalid_sql_statement_name";

        // Class 27: Triggered Data Change Violation
        "27000" TRIGGERED_DATA_CHANGE_VIOLATION "triggered_data_change_violation";

        // Class 28: Invalid Authorization Specification
        "28000" INVALID_AUTHORIZATION_SPECIFICATION "invalid_authorization_specification";
        "28P01" INVALID_PASSWORD "invalid_password";

        // Class 2B: Dependent Privilege Descriptors Still Exist
        "2B000" DEPENDENT_PRIVILEGE_DESCRIPTORS_STILL_EXIST "dependent_privilege_descriptors_still_exist";
        "2BP01" DEPENDENT_OBJECTS_STILL_EXIST "dependent_objects_still_exist";

        // Class 2D: Invalid Transaction Termination
        "2D000" INVALID_TRANSACTION_TERMINATION "invalid_transaction_termination";

        // Class 2F: SQL Routine Exception
        "2F000" SQL_ROUTINE_EXCEPTION "sql_routine_exception";
        "2F002" S_R_E_MODIFYING_SQL_DATA_NOT_PERMITTED "modifying_sql_data_not_permitted";
        "2F003" S_R_E_PROHIBITED_SQL_STATEMENT_ATTEMPTED "prohibited_sql_statement_attempted";
        "2F004" S_R_E_READING_SQL_DATA_NOT_PERMITTED "reading_sql_data_not_permitted";
        "2F005" FUNCTION_EXECUTED_NO_RETURN_STATEMENT "function_executed_no_return_statement";

        // Class 34: Invalid Cursor Name
        "34000" INVALID_CURSOR_NAME "invalid_cursor_name";

        // Class 38: External Routine Exception
        "38000" EXTERNAL_ROUTINE_EXCEPTION "external_routine_exception";
        "38001" CONTAINING_SQL_NOT_PERMITTED "containing_sql_not_permitted";
        "38002" E_R_E_MODIFYING_SQL_DATA_NOT_PERMITTED "modifying_sql_data_not_permitted";
        "38003" E_R_E_PROHIBITED_SQL_STATEMENT_ATTEMPTED "prohibited_sql_statement_attempted";
        "38004" E_R_E_READING_SQL_DATA_NOT_PERMITTED "reading_sql_data_not_permitted";

        // Class 39: External Routine Invocation Exception
        "39000" EXTERNAL_ROUTINE_INVOCATION_EXCEPTION "external_routine_invocation_exception";
        "39001" INVALID_SQLSTATE_RETURNED "invalid_sqlstate_returned";
        "39004" E_R_I_E_NULL_VALUE_NOT_ALLOWED "null_value_not_allowed";
        "39P01" TRIGGER_PROTOCOL_VIOLATED "trigger_protocol_violated";
        "39P02" SRF_PROTOCOL_VIOLATED "srf_protocol_violated";
        "39P03" EVENT_TRIGGER_PROTOCOL_VIOLATED "event_trigger_protocol_violated";

        // Class 3B: Savepoint Exception
        "3B000" SAVEPOINT_EXCEPTION "savepoint_exception";
        "3B001" INVALID_SAVEPOINT_SPECIFICATION "invalid_savepoint_specification";

        // Class 3D: Invalid Catalog Name
        "3D000" INVALID_CATALOG_NAME "invalid_catalog_name";

        // Class 3F: Invalid Schema Name
        "3F000" INVALID_SCHEMA_NAME "invalid_schema_name";

        // Class 40: Transaction Rollback
        "40000" TRANSACTION_ROLLBACK "transaction_rollback";
        "40001" SERIALIZATION_FAILURE "serialization_failure";
        "40002" TRANSACTION_INTEGRITY_CONSTRAINT_VIOLATION "transaction_integrity_constraint_violation";
        "40003" STATEMENT_COMPLETION_UNKNOWN "statement_completion_unknown";
        "40P01" DEADLOCK_DETECTED "deadlock_detected";

        // Class 42: Syntax Error or Access Rule Violation
        "42000" SYNTAX_ERROR_OR_ACCESS_RULE_VIOLATION "syntax_error_or_access_rule_violation";
        "42501" INSUFFICIENT_PRIVILEGE "insufficient_privilege";
        "42601" SYNTAX_ERROR "syntax_error";
        "42602" INVALID_NAME "invalid_name";
        "42611" INVALID_COLUMN_DEFINITION "invalid_column_definition";
        "42622" NAME_TOO_LONG "name_too_long";
        "42701" DUPLICATE_COLUMN "duplicate_column";
        "42702" AMBIGUOUS_COLUMN "ambiguous_column";
        "42703" UNDEFINED_COLUMN "undefined_column";
        "42704" UNDEFINED_OBJECT "undefined_object";
        "42710" DUPLICATE_OBJECT "duplicate_object";
        "42712" DUPLICATE_ALIAS "duplicate_alias";
        "42723" DUPLICATE_FUNCTION "duplicate_function";
        "42725" AMBIGUOUS_FUNCTION "ambiguous_function";
        "42803" GROUPING_ERROR "grouping_error";
        "42804" DATATYPE_MISMATCH "datatype_mismatch";
        "42809" WRONG_OBJECT_TYPE "wrong_object_type";
        "42830" INVALID_FOREIGN_KEY "invalid_foreign_key";
        "42846" CANNOT_COERCE "cannot_coerce";
        "42883" UNDEFINED_FUNCTION "undefined_function";
        "428C9" GENERATED_ALWAYS "generated_always";
        "42939" RESERVED_NAME "reserved_name";
        "42P01" UNDEFINED_TABLE "undefined_table";
        "42P02" UNDEFINED_PARAMETER "undefined_parameter";
        "42P03" DUPLICATE_CURSOR "duplicate_cursor";
        "42P04" DUPLICATE_DATABASE "duplicate_database";
        "42P05" DUPLICATE_PREPARED_STATEMENT "duplicate_prepared_statement";
        "42P06" DUPLICATE_SCHEMA "duplicate_schema";
        "42P07" DUPLICATE_TABLE "duplicate_table";
        "42P08" AMBIGUOUS_PARAMETER "ambiguous_parameter";
        "42P09" AMBIGUOUS_ALIAS "ambiguous_alias";
        "42P10" INVALID_COLUMN_REFERENCE "invalid_column_reference";
        "42P11" INVALID_CURSOR_DEFINITION "invalid_cursor_definition";
        "42P12" INVALID_DATABASE_DEFINITION "invalid_database_definition";
        "42P13" INVALID_FUNCTION_DEFINITION "invalid_function_definition";
        "42P14" INVALID_PREPARED_STATEMENT_DEFINITION "invalid_prepared_statement_definition";
        "42P15" INVALID_SCHEMA_DEFINITION "invalid_schema_definition";
        "42P16" INVALID_TABLE_DEFINITION "invalid_table_definition";
        "42P17" INVALID_OBJECT_DEFINITION "invalid_object_definition";
        "42P18" INDETERMINATE_DATATYPE "indeterminate_datatype";
        "42P19" INVALID_RECURSION "invalid_recursion";
        "42P20" WINDOWING_ERROR "windowing_error";
        "42P21" COLLATION_MISMATCH "collation_mismatch";
        "42P22" INDETERMINATE_COLLATION "indeterminate_collation";

        // Class 44: WITH CHECK OPTION Violation
        "44000" WITH_CHECK_OPTION_VIOLATION "with_check_option_violation";

        // Class 53: Insufficient Resources
        "53000" INSUFFICIENT_RESOURCES "insufficient_resources";
        "53100" DISK_FULL "disk_full";
        "53200" OUT_OF_MEMORY "out_of_memory";
        "53300" TOO_MANY_CONNECTIONS "too_many_connections";
        "53400" CONFIGURATION_LIMIT_EXCEEDED "configuration_limit_exceeded";

        // Class 54: Program Limit Exceeded
        "54000" PROGRAM_LIMIT_EXCEEDED "program_limit_exceeded";
        "54001" STATEMENT_TOO_COMPLEX "statement_too_complex";
        "54011" TOO_MANY_COLUMNS "too_many_columns";
        "54023" TOO_MANY_ARGUMENTS "too_many_arguments";

        // Class 55: Object Not In Prerequisite State
        "55000" OBJECT_NOT_IN_PREREQUISITE_STATE "object_not_in_prerequisite_state";
        "55006" OBJECT_IN_USE "object_in_use";
        "55P02" CANT_CHANGE_RUNTIME_PARAM "cant_change_runtime_param";
        "55P03" LOCK_NOT_AVAILABLE "lock_not_available";
        "55P04" UNSAFE_NEW_ENUM_VALUE_USAGE "unsafe_new_enum_value_usage";

        // Class 57: Operator Intervention
        "57000" OPERATOR_INTERVENTION "operator_intervention";
        "57014" QUERY_CANCELED "query_canceled";
        "57P01" ADMIN_SHUTDOWN "admin_shutdown";
        "57P02" CRASH_SHUTDOWN "crash_shutdown";
        "57P03" CANNOT_CONNECT_NOW "cannot_connect_now";
        "57P04" DATABASE_DROPPED "database_dropped";
        "57P05" IDLE_SESSION_TIMEOUT "idle_session_timeout";

        // Class 58: System Error (errors external to PostgreSQL itself)
        "58000" SYSTEM_ERROR "system_error";
        "58030" IO_ERROR "io_error";
        "58P01" UNDEFINED_FILE "undefined_file";
        "58P02" DUPLICATE_FILE "duplicate_file";

        // Class 72: Snapshot Failure
        "72000" SNAPSHOT_TOO_OLD "snapshot_too_old";

        // Class F0: Configuration File Error
        "F0000" CONFIG_FILE_ERROR "config_file_error";
        "F0001" LOCK_FILE_EXISTS "lock_file_exists";

        // Class HV: Foreign Data Wrapper Error (SQL/MED)
        "HV000" FDW_ERROR "fdw_error";
        "HV001" FDW_OUT_OF_MEMORY "fdw_out_of_memory";
        "HV002" FDW_DYNAMIC_PARAMETER_VALUE_NEEDED "fdw_dynamic_parameter_value_needed";
        "HV004" FDW_INVALID_DATA_TYPE "fdw_invalid_data_type";
        "HV005" FDW_COLUMN_NAME_NOT_FOUND "fdw_column_name_not_found";
        "HV006" FDW_INVALID_DATA_TYPE_DESCRIPTORS "fdw_invalid_data_type_descriptors";
        "HV007" FDW_INVALID_COLUMN_NAME "fdw_invalid_column_name";
        "HV008" FDW_INVALID_COLUMN_NUMBER "fdw_invalid_column_number";
        "HV009" FDW_INVALID_USE_OF_NULL_POINTER "fdw_invalid_use_of_null_pointer";
        "HV00A" FDW_INVALID_STRING_FORMAT "fdw_invalid_string_format";
        "HV00B" FDW_INVALID_HANDLE "fdw_invalid_handle";
        "HV00C" FDW_INVALID_OPTION_INDEX "fdw_invalid_option_index";
        "HV00D" FDW_INVALID_OPTION_NAME "fdw_invalid_option_name";
        "HV00J" FDW_OPTION_NAME_NOT_FOUND "fdw_option_name_not_found";
        "HV00K" FDW_REPLY_HANDLE "fdw_reply_handle";
        "HV00L" FDW_UNABLE_TO_CREATE_EXECUTION "fdw_unable_to_create_execution";
        "HV00M" FDW_UNABLE_TO_CREATE_REPLY "fdw_unable_to_create_reply";
        "HV00N" FDW_UNABLE_TO_ESTABLISH_CONNECTION "fdw_unable_to_establish_connection";
        "HV00P" FDW_NO_SCHEMAS "fdw_no_schemas";
        "HV00Q" FDW_SCHEMA_NOT_FOUND "fdw_schema_not_found";
        "HV00R" FDW_TABLE_NOT_FOUND "fdw_table_not_found";
        "HV010" FDW_FUNCTION_SEQUENCE_ERROR "fdw_function_sequence_error";
        "HV014" FDW_TOO_MANY_HANDLES "fdw_too_many_handles";
        "HV021" FDW_INCONSISTENT_DESCRIPTOR_INFORMATION "fdw_inconsistent_descriptor_information";
        "HV024" FDW_INVALID_ATTRIBUTE_VALUE "fdw_invalid_attribute_value";
        "HV090" FDW_INVALID_STRING_LENGTH_OR_BUFFER_LENGTH "fdw_invalid_string_length_or_buffer_length";
        "HV091" FDW_INVALID_DESCRIPTOR_FIELD_IDENTIFIER "fdw_invalid_descriptor_field_identifier";

        // Class P0: PL/pgSQL Error
        "P0000" PLPGSQL_ERROR "plpgsql_error";
        "P0001" RAISE_EXCEPTION "raise_exception";
        "P0002" NO_DATA_FOUND "no_data_found";
        "P0003" TOO_MANY_ROWS "too_many_rows";
        "P0004" ASSERT_FAILURE "assert_failure";

        // Class XX: Internal Error
        "XX000" INTERNAL_ERROR "internal_error";
        "XX001" DATA_CORRUPTED "data_corrupted";
        "XX002" INDEX_CORRUPTED "index_corrupted";
    }
    // The codes PostgreSQL gives a second C macro name without a condition
    // name of its own: that name, then the constant it equals.
    aliases {
        DATETIME_VALUE_OUT_OF_RANGE = DATETIME_FIELD_OVERFLOW;
        ARRAY_ELEMENT_ERROR = ARRAY_SUBSCRIPT_ERROR;
        UNDEFINED_PSTATEMENT = INVALID_SQL_STATEMENT_NAME;
        UNDEFINED_CURSOR = INVALID_CURSOR_NAME;
        UNDEFINED_DATABASE = INVALID_CATALOG_NAME;
        UNDEFINED_SCHEMA = INVALID_SCHEMA_NAME;
    }
}
