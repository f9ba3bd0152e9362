module Nn.Tests.Dsl.ParserTests

open Expecto
open Nn.Dsl
open Nn.Tests.Generators.DslSamples

let private body (p: Program) =
    match p.Decls with
    | [ LetDecl l ] -> l.Body
    | [ NetworkDecl n ] -> n.Body
    | _ -> failtest "expected one let or network"

[<Tests>]
let tests =
    testList "Dsl.Parser" [
        testList "examples" [
            for (name, text) in examples ->
                test name {
                    let p = parseOk text
                    Expect.isNonEmpty p.Decls "declarations"
                }
        ]
        test "the examples were found" { Expect.isGreaterThanOrEqual examples.Length 8 "example files" }

        test "precedence follows F#" {
            Expect.equal (exprOk "a + b * c ** d ** e |> f x")
                (inf "|>" (inf "+" (id "a") (inf "*" (id "b") (inf "**" (id "c") (inf "**" (id "d") (id "e")))))
                     (app (id "f") (id "x")))
                "tree"
        }
        test "prefix minus binds tighter than **, application tighter than prefix" {
            Expect.equal (exprOk "-f x ** 2") (inf "**" (Prefix("-", app (id "f") (id "x"), sp)) (num 2)) "tree"
        }
        test "f -x passes a negative argument (F#'s rule); f - x and f-x subtract" {
            let neg e = Prefix("-", e, sp)
            Expect.equal (exprOk "f -1") (app (id "f") (neg (num 1))) "f -1"
            Expect.equal (exprOk "f - 1") (inf "-" (id "f") (num 1)) "f - 1"
            Expect.equal (exprOk "f-1") (inf "-" (id "f") (num 1)) "f-1"
            Expect.equal (exprOk "a -b") (app (id "a") (neg (id "b"))) "a -b applies a value too, as in F#"
            Expect.equal (exprOk "a - -b") (inf "-" (id "a") (neg (id "b"))) "a - -b"
            Expect.equal (exprOk "x |> clip -1.0 1.0")
                (inf "|>" (id "x") (app (app (id "clip") (neg (Number(1.0, false, sp)))) (Number(1.0, false, sp))))
                "clip -1.0 1.0"
            Expect.equal (exprOk "f -(g x) -y.[0]")
                (app (app (id "f") (neg (Paren(app (id "g") (id "x"), sp))))
                     (neg (Slice(id "y", [ Index(num 0, sp) ], sp))))
                "atoms with postfix forms"
            Expect.equal (exprOk "f -x ** 2") (inf "**" (app (id "f") (neg (id "x"))) (num 2))
                "application binds tighter than **"
            Expect.equal (exprOk "fun x -> x") (Lambda([ { Name = "x"; Shape = None; Span = sp } ], id "x", sp))
                "-> is not a negation"
        }
        test "a -x on a continuation line is not an argument" {
            Expect.equal (exprOk "a\n  -b") (inf "-" (id "a") (id "b")) "subtraction across lines"
        }
        test "composition is looser than comparison, pipeline looser than composition" {
            Expect.equal (exprOk "a |> f >> g = h")
                (inf "|>" (id "a") (inf ">>" (id "f") (inf "=" (id "g") (id "h")))) "tree"
        }
        test "not and && and ||" {
            Expect.equal (exprOk "not a && b || c") (inf "||" (inf "&&" (Prefix("not", id "a", sp)) (id "b")) (id "c"))
                "tree"
        }
        test "a name starting with not is a name" { Expect.equal (exprOk "nothing") (id "nothing") "ident" }
        test "a tuple in a list is one item" {
            Expect.equal (exprOk "[[0; 0], [0]]")
                (List([ Tuple([ List([ num 0; num 0 ], sp); List([ num 0 ], sp) ], sp) ], sp)) "tree"
        }
        test "list items one per line at the same column" {
            let e = exprOk "rows [ [0; 0], [0]\n       [0; 1], [1] ]"
            match e with
            | App(_, List(items, _), _) -> Expect.equal items.Length 2 "two rows"
            | _ -> failtest "shape"
        }
        test "records with ; or one field per line" {
            let a = exprOk "{ lr = 0.1; momentum = 0.9 }"
            let b = exprOk "{ lr = 0.1\n  momentum = 0.9 }"
            Expect.equal a b "same record"
            match a with
            | Record([ f1; f2 ], _) -> Expect.equal (f1.Name, f2.Name) ("lr", "momentum") "names"
            | _ -> failtest "record"
        }
        test "numbers know whether they were integers" {
            Expect.equal (exprOk "[1; 1.0; 1e-3; 2E5]")
                (List([ Number(1.0, true, sp); Number(1.0, false, sp); Number(0.001, false, sp)
                        Number(200000.0, false, sp) ], sp)) "numbers"
        }
        test "strings with escapes" {
            Expect.equal (exprOk "\"a\\\"b\\n\\u0041\"") (String("a\"b\nA", sp)) "string"
        }
        test "dotted names are one identifier, members only on other expressions" {
            Expect.equal (exprOk "List.fold") (id "List.fold") "dotted"
            Expect.equal (exprOk "(r).lr") (Member(Paren(id "r", sp), "lr", sp)) "member"
        }
        test "slices" {
            Expect.equal (exprOk "x.[0..1, *, 2, ..3, 1..]")
                (Slice(id "x", [ Range(Some(num 0), Some(num 1), sp); All sp; Index(num 2, sp)
                                 Range(None, Some(num 3), sp); Range(Some(num 1), None, sp) ], sp))
                "slice"
        }
        test "lambdas with annotated parameters" {
            match exprOk "fun h (u: [n, k]) -> h |> dense u" with
            | Lambda([ p1; p2 ], Infix("|>", _, _, _, _), _) ->
                Expect.isNone p1.Shape "h plain"
                Expect.equal (p2.Shape |> Option.map (fun s -> s.Dims)) (Some [ id "n"; id "k" ]) "u's shape"
            | e -> failtestf "got %A" e
        }
        test "if then else" {
            Expect.equal (exprOk "if a then b else c") (If(id "a", id "b", id "c", sp)) "if"
        }
        test "else may line up under if" {
            let p = parseOk "let f x =\n    if x then 1\n    else 2"
            Expect.equal (body p) (If(id "x", num 1, num 2, sp)) "if"
        }
        test "a pipeline continues on lines starting with |> at the block's column" {
            let p = parseOk "network m (x: [n, 2]) : [n, 1] =\n    x\n    |> dense 8\n    |> relu"
            Expect.equal (body p) (inf "|>" (inf "|>" (id "x") (app (id "dense") (num 8))) (id "relu")) "pipeline"
        }
        test "an expression continues on a more indented line" {
            let p = parseOk "let y =\n    f a\n        b"
            Expect.equal (body p) (app (app (id "f") (id "a")) (id "b")) "application"
        }
        test "statements then a result make a block" {
            let p = parseOk "let f (x: [n, k]) =\n    param w : [k, 2] = glorot\n    let y = x @ w\n    y"
            match body p with
            | Block([ ParamStmt w; LetStmt y ], Ident("y", _), _) ->
                Expect.equal w.Name "w" "param"
                Expect.equal y.Body (inf "@" (id "x") (id "w")) "let"
            | e -> failtestf "got %A" e
        }
        test "state declarations: with a shape and an initializer, or an expression with an optional shape" {
            let p =
                parseOk ("let f x =\n    state c : [3] = zeros\n    state mean = mean 0 x\n"
                         + "    state s : [1, 3] = sumAll x\n    x")
            match body p with
            | Block([ StateStmt c; StateStmt m; StateStmt s ], Ident("x", _), _) ->
                Expect.equal (c.Name, c.Shape |> Option.map (fun a -> a.Dims), c.Value)
                    ("c", Some [ num 3 ], id "zeros") "buffer"
                Expect.equal (m.Name, m.Shape, m.Value) ("mean", None, app (app (id "mean") (num 0)) (id "x"))
                    "adapted, no shape"
                Expect.equal (s.Shape |> Option.map (fun a -> a.Dims)) (Some [ num 1; num 3 ]) "adapted with a shape"
            | e -> failtestf "got %A" e
        }
        test "state is a keyword: not a name, and a block cannot end with it" {
            Expect.isError (Parser.parseProgram "t.nn" "let state = 1") "not a name"
            Expect.isError (Parser.parseProgram "t.nn" "let f x =\n    state c = x") "a block ends with a statement"
            Expect.isError (Parser.parseProgram "t.nn" "let f x =\n    state = x\n    x") "a state needs a name"
        }
        test "doc comments attach to the next let or network" {
            let p = parseOk "/// Adds one.\n/// Really.\nlet inc x = x + 1\n\n/// A model.\nnetwork m (x: [n]) = x"
            match p.Decls with
            | [ LetDecl l; NetworkDecl n ] ->
                Expect.equal l.Doc (Some "Adds one.\nReally.") "let doc"
                Expect.equal n.Doc (Some "A model.") "network doc"
            | _ -> failtest "decls"
        }
        test "comments of both kinds, nested block comments" {
            let p = parseOk "(* a (* nested *) comment *)\nlet x = 1 // trailing\n// own line\nlet y = (* inline *) 2"
            Expect.equal p.Decls.Length 2 "two decls"
        }
        test "train fields separated by newlines or ;" {
            let p = parseOk "train m { batch = 4; epochs = 2 }\n\ntrain m {\n    batch = 4\n    epochs = 2\n}"
            match p.Decls with
            | [ TrainDecl a; TrainDecl b ] -> Expect.equal a b "same fields"
            | _ -> failtest "decls"
        }
        test "open and a network without an output annotation, several inputs" {
            let p = parseOk "open \"layers.nn\"\nnetwork m (a: [n, 2]) (b: [n, 2]) = a + b"
            match p.Decls with
            | [ OpenDecl("layers.nn", _); NetworkDecl n ] ->
                Expect.equal n.Inputs.Length 2 "inputs"
                Expect.isNone n.Output "no output"
            | _ -> failtest "decls"
        }
        test "spans are 1-based, end exclusive, with the caller's file name" {
            let p = parseOk "let x =\n    foo 12"
            match p.Decls with
            | [ LetDecl l ] ->
                Expect.isTrue (Span.same l.Span (Span.make "t.nn" (1, 1) (2, 11))) (string l.Span)
                Expect.isTrue (Span.same l.NameSpan (Span.make "t.nn" (1, 5) (1, 6))) (string l.NameSpan)
                match l.Body with
                | App(f, a, s) ->
                    Expect.isTrue (Span.same s (Span.make "t.nn" (2, 5) (2, 11))) (string s)
                    Expect.isTrue (Span.same a.Span (Span.make "t.nn" (2, 9) (2, 11))) (string a.Span)
                    Expect.isTrue (Span.same f.Span (Span.make "t.nn" (2, 5) (2, 8))) (string f.Span)
                | _ -> failtest "app"
            | _ -> failtest "decls"
        }
        test "infix nodes carry the operator's span" {
            match exprOk "a  |> b" with
            | Infix(_, _, _, opSpan, _) ->
                Expect.isTrue (Span.same opSpan (Span.make "t.nn" (1, 4) (1, 6))) (string opSpan)
            | _ -> failtest "infix"
        }
        test "CRLF line endings" {
            let p = parseOk "let f x =\r\n    let y = x\r\n    y\r\n"
            Expect.equal p.Decls.Length 1 "one decl"
        }
    ]
