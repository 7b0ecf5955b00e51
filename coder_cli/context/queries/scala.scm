; Scala tags.
(class_definition name: (identifier) @name.definition.class) @definition.class
(object_definition name: (identifier) @name.definition.class) @definition.class
(trait_definition name: (identifier) @name.definition.interface) @definition.interface
(function_definition name: (identifier) @name.definition.function) @definition.function
(function_declaration name: (identifier) @name.definition.method) @definition.method
(call_expression function: (identifier) @name.reference.call)
(call_expression function: (field_expression field: (identifier) @name.reference.call))
(extends_clause type: (type_identifier) @name.reference.class)
