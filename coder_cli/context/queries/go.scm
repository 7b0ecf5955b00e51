; Go tags.
(function_declaration name: (identifier) @name.definition.function) @definition.function
(method_declaration name: (field_identifier) @name.definition.method) @definition.method
(type_spec name: (type_identifier) @name.definition.type) @definition.type
(method_elem name: (field_identifier) @name.definition.method) @definition.method
(call_expression function: (identifier) @name.reference.call)
(call_expression function: (selector_expression field: (field_identifier) @name.reference.call))
(composite_literal type: (type_identifier) @name.reference.type)
(parameter_declaration type: (type_identifier) @name.reference.type)
(parameter_declaration type: (pointer_type (type_identifier) @name.reference.type))
