; JSX components used as elements (JavaScript and TSX); lowercase names are HTML tags.
((jsx_opening_element name: (identifier) @name.reference.call) (#match? @name.reference.call "^[A-Z]"))
((jsx_self_closing_element name: (identifier) @name.reference.call) (#match? @name.reference.call "^[A-Z]"))
