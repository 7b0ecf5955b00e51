; C++ tags.
(function_definition declarator: (function_declarator declarator: (identifier) @name.definition.function)) @definition.function
(function_definition declarator: (function_declarator declarator: (field_identifier) @name.definition.method)) @definition.method
(function_definition declarator: (function_declarator declarator: (qualified_identifier name: (identifier) @name.definition.method))) @definition.method
(function_definition declarator: (pointer_declarator declarator: (function_declarator declarator: (identifier) @name.definition.function))) @definition.function
(function_definition declarator: (reference_declarator (function_declarator declarator: (identifier) @name.definition.function))) @definition.function
(class_specifier name: (type_identifier) @name.definition.class body: (field_declaration_list)) @definition.class
(struct_specifier name: (type_identifier) @name.definition.class body: (field_declaration_list)) @definition.class
(union_specifier name: (type_identifier) @name.definition.class body: (field_declaration_list)) @definition.class
(enum_specifier name: (type_identifier) @name.definition.type body: (enumerator_list)) @definition.type
(type_definition declarator: (type_identifier) @name.definition.type) @definition.type
(alias_declaration name: (type_identifier) @name.definition.type) @definition.type
(namespace_definition name: (namespace_identifier) @name.definition.module) @definition.module
(field_declaration declarator: (function_declarator declarator: (field_identifier) @name.definition.method)) @definition.method
(preproc_function_def name: (identifier) @name.definition.macro) @definition.macro
(call_expression function: (identifier) @name.reference.call)
(call_expression function: (field_expression field: (field_identifier) @name.reference.call))
(call_expression function: (qualified_identifier name: (identifier) @name.reference.call))
(base_class_clause (type_identifier) @name.reference.class)
