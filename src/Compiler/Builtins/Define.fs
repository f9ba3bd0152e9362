/// Helpers to define built-ins compactly.
module internal Nn.Compiler.Builtins.Define

open Nn.Dsl
open Nn.Compiler
open Nn.Compiler.Context

/// A built-in taking `arity` arguments.
let fn name arity doc impl : Builtin = { Name = name; Arity = arity; Doc = doc; Impl = impl }

/// Wrong arguments: name the built-in and what it expects.
let expects (name: string) (doc: string) (span: Span) (got: Value) : 'a =
    fail "NN0302" span (sprintf "`%s` expects %s, but got %s" name doc (Value.describe got))

/// The argument list as an array, for pattern matching in implementations.
let args1 (a: (Value * Span) list) =
    match a with
    | [ x ] -> x
    | _ -> invalidOp "arity"

let args2 (a: (Value * Span) list) =
    match a with
    | [ x; y ] -> x, y
    | _ -> invalidOp "arity"

let args3 (a: (Value * Span) list) =
    match a with
    | [ x; y; z ] -> x, y, z
    | _ -> invalidOp "arity"
