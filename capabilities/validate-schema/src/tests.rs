use super::*;

fn errors(schema: Value, value: Value) -> Vec<Violation> {
    Schema::compile(&schema).unwrap().validate(&value).unwrap()
}

fn compile_error(schema: Value) -> String {
    Schema::compile(&schema).unwrap_err()
}

#[test]
fn vectors() {
    sealed_sdk::testing::vectors::check_transform(env!("CARGO_MANIFEST_DIR"), run);
}

#[test]
fn valid_value_is_success() {
    let out = run(json!({
        "schema": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
        "value": {"name": "Ada"}
    }))
    .unwrap();
    assert_eq!(out, Outcome::success(json!({"valid": true})));
}

#[test]
fn violation_lists_every_error_with_its_pointer() {
    let out = run(json!({
        "schema": {
            "type": "object",
            "required": ["name", "age"],
            "properties": {"age": {"type": "integer", "minimum": 0}, "tags": {"items": {"type": "string"}}}
        },
        "value": {"age": -1, "tags": ["a", 2]}
    }))
    .unwrap();
    assert_eq!(out.name, "VIOLATION");
    assert_eq!(
        out.output,
        json!({
            "valid": false,
            "reason": "(root): missing required property \"name\" (and 2 more)",
            "errors": [
                {"path": "", "message": "missing required property \"name\""},
                {"path": "/age", "message": "-1 is less than the minimum 0"},
                {"path": "/tags/1", "message": "expected string, got integer"},
            ]
        })
    );
}

#[test]
fn pointer_tokens_are_escaped() {
    let e = errors(
        json!({"properties": {"a/b": {"const": 1}, "c~d": false}}),
        json!({"a/b": 2, "c~d": 0}),
    );
    let paths: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["/a~1b", "/c~0d"]);
}

#[test]
fn error_list_is_capped_but_counted() {
    let out = run(json!({"schema": {"items": {"type": "string"}}, "value": vec![0; 100]})).unwrap();
    assert_eq!(out.output["errors"].as_array().unwrap().len(), MAX_ERRORS);
    assert!(out.output["reason"].as_str().unwrap().ends_with("(and 99 more)"));
}

#[test]
fn malformed_input_is_invalid_input() {
    for input in [
        json!({"value": 1}),
        json!({"schema": {}}),
        json!({"schema": {}, "value": 1, "extra": true}),
        json!({"schema": 7, "value": 1}),
    ] {
        assert!(matches!(run(input.clone()), Err(Error::InvalidInput(_))), "{input}");
    }
}

#[test]
fn unsupported_or_broken_schemas_are_refused() {
    for (schema, needle) in [
        (
            json!({"unevaluatedProperties": false}),
            "keyword `unevaluatedProperties` is not supported",
        ),
        (json!({"requried": ["a"]}), "keyword `requried` is not supported"),
        (json!({"$ref": "https://example.com/s.json"}), "leaves the document"),
        (json!({"$ref": "#/$defs/missing"}), "points at nothing"),
        (json!({"$ref": "#anchor"}), "is an anchor"),
        (json!({"type": "text"}), "`type` must be made of JSON Schema type names"),
        (json!({"type": ["string", "string"]}), "free of duplicates"),
        (json!({"minLength": -1}), "`minLength` must be a non-negative integer"),
        (json!({"multipleOf": 0}), "`multipleOf` must be a number greater than 0"),
        (json!({"pattern": "(unclosed"}), "not a supported regular expression"),
        (
            json!({"pattern": "(?=lookahead)"}),
            "not a supported regular expression",
        ),
        (json!({"items": [{"type": "string"}]}), "use `prefixItems`"),
        (
            json!({"properties": {"a": 3}}),
            "a schema must be an object or a boolean",
        ),
        (json!({"$defs": {"x": {"type": 1}}}), "at schema \"/$defs/x\""),
        (
            json!({"$schema": "http://json-schema.org/draft-04/schema#"}),
            "is not supported",
        ),
        (json!({"properties": {"a": {"$id": "x"}}}), "only supported at the root"),
        (json!({"anyOf": []}), "`anyOf` must be a non-empty array"),
        (json!({"required": ["a", "a"]}), "distinct strings"),
    ] {
        let e = compile_error(schema.clone());
        assert!(e.contains(needle), "{schema}: {e}");
        assert!(matches!(
            run(json!({"schema": schema, "value": 1})),
            Err(Error::InvalidInput(_))
        ));
    }
}

#[test]
fn ref_cycles_that_do_not_descend_are_refused() {
    assert!(compile_error(json!({"$ref": "#"})).contains("cycle"));
    assert!(
        compile_error(json!({"$defs": {"a": {"allOf": [{"$ref": "#/$defs/b"}]}, "b": {"$ref": "#/$defs/a"}}}))
            .contains("cycle")
    );
}

#[test]
fn recursive_schemas_that_descend_work() {
    let tree = json!({
        "$defs": {"node": {"type": "object", "required": ["v"],
                           "properties": {"v": {"type": "integer"}, "kids": {"items": {"$ref": "#/$defs/node"}}}}},
        "$ref": "#/$defs/node"
    });
    assert!(errors(tree.clone(), json!({"v": 1, "kids": [{"v": 2, "kids": [{"v": 3}]}]})).is_empty());
    let e = errors(tree, json!({"v": 1, "kids": [{"v": 2, "kids": [{"v": "x"}]}]}));
    assert_eq!(e, vec![violation("/kids/0/kids/0/v", "expected integer, got string")]);
}

#[test]
fn numbers_compare_exactly() {
    // 2^53 + 1 is not representable as f64; a float comparison would call these equal.
    assert_eq!(
        errors(json!({"maximum": 9007199254740992_u64}), json!(9007199254740993_u64)).len(),
        1
    );
    assert!(errors(json!({"maximum": 18446744073709551615_u64}), json!(-1)).is_empty());
    assert!(errors(json!({"minimum": 1.5}), json!(2)).is_empty());
    assert_eq!(errors(json!({"minimum": 1.5}), json!(1)).len(), 1);
    assert!(errors(json!({"multipleOf": 0.1}), json!(0.3)).is_empty());
    assert!(errors(json!({"multipleOf": 0.01}), json!(19.99)).is_empty());
    assert_eq!(errors(json!({"multipleOf": 0.1}), json!(0.35)).len(), 1);
    assert!(errors(json!({"multipleOf": 1e-7}), json!(3e-7)).is_empty());
    assert!(errors(json!({"type": "integer"}), json!(2.0)).is_empty());
    assert!(errors(json!({"enum": [1, [2.0], {"a": 3}]}), json!({"a": 3.0})).is_empty());
    assert!(errors(json!({"const": [1]}), json!([1.0])).is_empty());
}

#[test]
fn draft7_is_supported_through_schema() {
    let s = json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "definitions": {"pair": {"items": [{"type": "string"}, {"type": "integer"}], "additionalItems": false}},
        "properties": {"p": {"$ref": "#/definitions/pair", "type": "null"}},
        "dependencies": {"a": ["b"], "c": {"required": ["d"]}}
    });
    // The `type: null` sibling of `$ref` is ignored in draft-07.
    assert!(errors(s.clone(), json!({"p": ["x", 1]})).is_empty());
    let e = errors(s.clone(), json!({"p": ["x", 1, 2]}));
    assert_eq!(
        e,
        vec![violation(
            "/p/2",
            "item 2 is not allowed (the array allows no more items)"
        )]
    );
    assert_eq!(errors(s.clone(), json!({"a": 1})).len(), 1);
    assert_eq!(errors(s, json!({"c": 1})).len(), 1);
    assert!(
        compile_error(json!({"$schema": "http://json-schema.org/draft-07/schema#", "prefixItems": [true]}))
            .contains("not supported")
    );
}

#[test]
fn messages_name_the_rule() {
    let cases = [
        (
            json!({"additionalProperties": false}),
            json!({"x": 1}),
            "/x",
            "property \"x\" is not allowed",
        ),
        (
            json!({"oneOf": [{"type": "integer"}, {"minimum": 0}]}),
            json!(1),
            "",
            "value matches `oneOf` schemas 0, 1 but must match exactly one",
        ),
        (
            json!({"not": {"type": "string"}}),
            json!("s"),
            "",
            "value matches the `not` schema",
        ),
        (
            json!({"uniqueItems": true}),
            json!([1, 2, 1.0]),
            "",
            "items 0 and 2 are equal, but items must be unique",
        ),
        (
            json!({"contains": {"const": 1}, "minContains": 2}),
            json!([1]),
            "",
            "array has 1 item(s) matching `contains`, at least 2 required",
        ),
        (
            json!({"propertyNames": {"maxLength": 2}}),
            json!({"abc": 1}),
            "",
            "property name \"abc\": string of 3 characters is longer than 2",
        ),
        (
            json!({"dependentRequired": {"a": ["b"]}}),
            json!({"a": 1}),
            "",
            "property \"b\" is required when \"a\" is present",
        ),
        (
            json!({"pattern": "^[A-Z]+$"}),
            json!("abc"),
            "",
            "string does not match the pattern \"^[A-Z]+$\"",
        ),
        (
            json!({"minLength": 2}),
            json!("é"),
            "",
            "string of 1 characters is shorter than 2",
        ),
        (
            json!(false),
            json!(null),
            "",
            "no value is allowed here (the schema is `false`)",
        ),
        (
            json!({"if": {"type": "string"}, "then": {"minLength": 1}, "else": {"type": "null"}}),
            json!(0),
            "",
            "expected null, got integer",
        ),
    ];
    for (schema, value, path, message) in cases {
        assert_eq!(
            errors(schema.clone(), value.clone()),
            vec![violation(path, message)],
            "{schema} / {value}"
        );
    }
}

/// The verdicts of this validator agree with the `jsonschema` crate (the host's admission validator) on
/// every case here, valid and invalid alike.
#[test]
fn agrees_with_the_jsonschema_crate() {
    let cases: Vec<(Value, Vec<Value>)> = vec![
        (json!(true), vec![json!(1), json!(null)]),
        (json!(false), vec![json!(1)]),
        (json!({}), vec![json!({"a": [1]}), json!("x")]),
        (
            json!({"type": "integer"}),
            vec![
                json!(1),
                json!(1.0),
                json!(1.5),
                json!("1"),
                json!(-9223372036854775808_i64),
            ],
        ),
        (
            json!({"type": ["string", "null"]}),
            vec![json!("a"), json!(null), json!(0)],
        ),
        (json!({"type": "number"}), vec![json!(1), json!(0.5), json!(true)]),
        (
            json!({"enum": ["a", 1, null, {"k": [1]}]}),
            vec![json!("a"), json!(1.0), json!({"k": [1.0]}), json!("b"), json!(false)],
        ),
        (
            json!({"const": {"a": 1, "b": [true]}}),
            vec![json!({"b": [true], "a": 1}), json!({"a": 1})],
        ),
        (
            json!({"multipleOf": 3}),
            vec![json!(9), json!(10), json!(9.0), json!(-3)],
        ),
        (json!({"multipleOf": 0.5}), vec![json!(2.5), json!(2.25)]),
        (
            json!({"maximum": 10, "exclusiveMinimum": 0}),
            vec![json!(10), json!(10.5), json!(0), json!(0.001), json!("x")],
        ),
        (
            json!({"exclusiveMaximum": 5.5, "minimum": -2}),
            vec![json!(5.5), json!(5), json!(-2), json!(-2.1)],
        ),
        (
            json!({"minLength": 2, "maxLength": 3}),
            vec![json!("ab"), json!("abcd"), json!("a"), json!("😀😀"), json!(5)],
        ),
        (
            json!({"pattern": "^[a-z]+\\d*$"}),
            vec![json!("abc12"), json!("Abc"), json!(""), json!(7)],
        ),
        (json!({"pattern": "b"}), vec![json!("abc"), json!("xyz")]),
        (
            json!({"minItems": 1, "maxItems": 2, "uniqueItems": true}),
            vec![
                json!([1]),
                json!([]),
                json!([1, 2, 3]),
                json!([1, 1]),
                json!([{"a": 1}, {"a": 1.0}]),
            ],
        ),
        (
            json!({"prefixItems": [{"type": "string"}, {"type": "integer"}], "items": false}),
            vec![json!(["a", 1]), json!(["a"]), json!(["a", 1, 2]), json!([1, "a"])],
        ),
        (
            json!({"prefixItems": [{"const": 0}], "items": {"type": "string"}}),
            vec![json!([0, "a", "b"]), json!([0, 1])],
        ),
        (
            json!({"contains": {"type": "string"}}),
            vec![json!([1, "a"]), json!([1, 2]), json!([])],
        ),
        (
            json!({"contains": {"type": "string"}, "minContains": 2, "maxContains": 3}),
            vec![json!(["a"]), json!(["a", "b"]), json!(["a", "b", "c", "d"])],
        ),
        (
            json!({"contains": {"type": "string"}, "minContains": 0}),
            vec![json!([]), json!([1])],
        ),
        (
            json!({"minProperties": 1, "maxProperties": 2}),
            vec![json!({}), json!({"a": 1}), json!({"a": 1, "b": 2, "c": 3})],
        ),
        (
            json!({"required": ["a", "b"]}),
            vec![json!({"a": 1, "b": null}), json!({"a": 1}), json!([])],
        ),
        (
            json!({"properties": {"a": {"type": "integer"}}, "patternProperties": {"^x-": {"type": "string"}}, "additionalProperties": false}),
            vec![
                json!({"a": 1, "x-y": "s"}),
                json!({"a": 1, "b": 2}),
                json!({"x-y": 3}),
                json!({"a": "s"}),
            ],
        ),
        (
            json!({"additionalProperties": {"type": "boolean"}, "properties": {"n": {}}}),
            vec![json!({"n": 1, "b": true}), json!({"b": 1})],
        ),
        (
            json!({"propertyNames": {"pattern": "^[a-z]+$"}}),
            vec![json!({"abc": 1}), json!({"aB": 1})],
        ),
        (
            json!({"dependentRequired": {"card": ["cvv"]}}),
            vec![json!({"card": 1, "cvv": 2}), json!({"card": 1}), json!({"cvv": 1})],
        ),
        (
            json!({"dependentSchemas": {"card": {"required": ["cvv"]}}}),
            vec![json!({"card": 1, "cvv": 2}), json!({"card": 1})],
        ),
        (
            json!({"allOf": [{"type": "integer"}, {"minimum": 3}]}),
            vec![json!(3), json!(2), json!(3.5)],
        ),
        (
            json!({"anyOf": [{"type": "string"}, {"minimum": 3}]}),
            vec![json!("a"), json!(4), json!(2)],
        ),
        (
            json!({"oneOf": [{"type": "integer"}, {"minimum": 3}]}),
            vec![json!(1), json!(3.5), json!(4), json!(2.5)],
        ),
        (json!({"not": {"type": "null"}}), vec![json!(1), json!(null)]),
        (
            json!({"if": {"properties": {"k": {"const": "a"}}}, "then": {"required": ["a"]}, "else": {"required": ["b"]}}),
            vec![
                json!({"k": "a", "a": 1}),
                json!({"k": "a"}),
                json!({"k": "z", "b": 1}),
                json!({"k": "z"}),
            ],
        ),
        (
            json!({"if": {"type": "string"}, "then": {"minLength": 2}}),
            vec![json!("a"), json!(1)],
        ),
        (
            json!({"$defs": {"pos": {"type": "integer", "minimum": 1}}, "properties": {"n": {"$ref": "#/$defs/pos", "maximum": 5}}}),
            vec![json!({"n": 3}), json!({"n": 0}), json!({"n": 6})],
        ),
        (
            json!({"$defs": {"list": {"type": "array", "items": {"anyOf": [{"type": "integer"}, {"$ref": "#/$defs/list"}]}}}, "$ref": "#/$defs/list"}),
            vec![json!([1, [2, [3]]]), json!([1, ["x"]])],
        ),
        (
            json!({"properties": {"a b": {"$ref": "#/$defs/a%20b"}}, "$defs": {"a b": {"type": "string"}}}),
            vec![json!({"a b": "s"}), json!({"a b": 1})],
        ),
        (
            json!({"format": "email", "title": "t", "description": "d", "default": 1, "examples": [1]}),
            vec![json!("not an email")],
        ),
        (
            json!({"$schema": "http://json-schema.org/draft-07/schema#", "items": [{"type": "string"}], "additionalItems": {"type": "integer"}}),
            vec![json!(["a", 1, 2]), json!(["a", "b"]), json!([1])],
        ),
        (
            json!({"$schema": "http://json-schema.org/draft-07/schema#", "dependencies": {"a": ["b"], "c": {"minProperties": 3}}}),
            vec![
                json!({"a": 1, "b": 2}),
                json!({"a": 1}),
                json!({"c": 1, "d": 1}),
                json!({"c": 1, "d": 1, "e": 1}),
            ],
        ),
        (
            json!({"$schema": "http://json-schema.org/draft-07/schema#", "definitions": {"s": {"type": "string"}}, "properties": {"x": {"$ref": "#/definitions/s", "maxLength": 1}}}),
            vec![json!({"x": "abc"}), json!({"x": 1})],
        ),
    ];
    let mut disagreements = Vec::new();
    for (schema, values) in cases {
        let reference = jsonschema::validator_for(&schema).unwrap();
        let ours = Schema::compile(&schema).unwrap();
        for value in values {
            let expected = reference.is_valid(&value);
            let got = ours.validate(&value).unwrap();
            if got.is_empty() != expected {
                disagreements.push(format!(
                    "{schema} / {value}: jsonschema says {expected}, we say {got:?}"
                ));
            }
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}
