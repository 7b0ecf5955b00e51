; Ruby tags.
(method name: (_) @name.definition.method) @definition.method
(singleton_method name: (_) @name.definition.method) @definition.method
(class name: (constant) @name.definition.class) @definition.class
(class name: (scope_resolution name: (constant) @name.definition.class)) @definition.class
(module name: (constant) @name.definition.module) @definition.module
(module name: (scope_resolution name: (constant) @name.definition.module)) @definition.module
(call method: (identifier) @name.reference.call)
(superclass (constant) @name.reference.class)
