/// FsCheck generators shared by the test tree (passed through the test config, never registered globally).
module Nn.Tests.Generators

open FsCheck
open FsCheck.FSharp
open Nn.Dsl

let private sp = Span.none

let private name = Gen.elements [ "x"; "y"; "h"; "units"; "k"; "w_1"; "a'"; "dense"; "relu" ]
let private dotted = Gen.elements [ "x"; "n"; "dense"; "List.fold"; "relu"; "units"; "a.b.c" ]

let private number =
    Gen.oneof [
        Gen.choose (0, 100000) |> Gen.map (fun i -> Number(float i, true, sp))
        Gen.choose (0, 100000) |> Gen.map (fun i -> Number(float i / 64.0 + 0.5, false, sp))
        Gen.elements [ 1e-3; 3e-3; 1e-5; 0.05; 255.0; 1e20; 0.1; 2.5e-8 ] |> Gen.map (fun v -> Number(v, false, sp))
    ]

let private str =
    Gen.elements
        [ ""; "data/iris.csv"; "a \"quoted\" name"; "tab\there"; "back\\slash"; "line\nbreak"; "ü €"; "\u0001" ]
    |> Gen.map (fun s -> String(s, sp))

let private leaf =
    Gen.oneof
        [ number
          str
          Gen.elements [ true; false ] |> Gen.map (fun b -> Bool(b, sp))
          dotted |> Gen.map (fun n -> Ident(n, sp)) ]

let private paren e = Paren(e, sp)

/// Binary operators by precedence level (1 lowest); `**` (level 8) is right associative.
let private opsAt =
    [| []
       [ "|>" ]
       [ ">>" ]
       [ "||" ]
       [ "&&" ]
       [ "="; "<>"; "<"; ">"; "<="; ">=" ]
       [ "+"; "-" ]
       [ "*"; "/"; "@" ]
       [ "**" ] |]

let private shapeOf dims = { Dims = dims; Span = sp }

/// An expression that prints and parses back to itself: `level` is the loosest form allowed at
/// this position (0: tuples, lambdas, conditionals; 1-8: binary operators; 9: prefix; 10: application;
/// 11: atoms). Looser forms are put in parentheses, as a user would have to. Size halves at each level.
let rec internal exprAt (level: int) (size: int) : Gen<Expr> =
    // Built lazily: each level refers to the next, and building them all eagerly is exponential.
    gen { return! exprNow level size }

and private exprNow (level: int) (size: int) : Gen<Expr> =
    if size <= 0 || level > 11 then leaf
    else
        let half = size / 2
        let tighter = if level = 11 then leaf else exprAt (level + 1) size
        let own =
            match level with
            | 0 ->
                Gen.oneof [
                    Gen.listOfLength 2 (exprAt 1 half) |> Gen.map (fun es -> Tuple(es, sp))
                    Gen.map2 (fun ps b -> Lambda(ps, b, sp)) (paramsGen 2) (exprAt 0 half)
                    Gen.map3 (fun c a b -> If(c, a, b, sp)) (exprAt 0 half) (exprAt 0 half) (exprAt 0 half)
                ]
            | l when l >= 1 && l <= 8 ->
                gen {
                    let! op = Gen.elements opsAt[l]
                    let! left = if l = 8 then exprAt 9 half else exprAt l half
                    let! right = if l = 8 then exprAt 8 half else exprAt (l + 1) half
                    return Infix(op, left, right, sp, sp)
                }
            | 9 -> Gen.map2 (fun op e -> Prefix(op, e, sp)) (Gen.elements [ "-"; "not" ]) (exprAt 9 half)
            | 10 ->
                // `f -x` passes a negative argument (F#'s rule), so an atom argument may be negated.
                let negated = exprAt 11 half |> Gen.map (fun a -> Prefix("-", a, sp))
                Gen.map2 (fun f a -> App(f, a, sp)) (exprAt 10 half) (Gen.frequency [ 3, exprAt 11 half; 1, negated ])
            | _ ->
                Gen.oneof [
                    leaf
                    exprAt 0 half |> Gen.map paren
                    Gen.choose (0, 3)
                    |> Gen.bind (fun n -> Gen.listOfLength n (exprAt 0 (half / 2)))
                    |> Gen.map (fun es -> List(es, sp))
                    Gen.choose (0, 3)
                    |> Gen.bind (fun n -> Gen.listOfLength n (fieldGen (half / 2)))
                    |> Gen.map (fun fs -> Record(fs, sp))
                    Gen.map2 (fun t n -> Member(t, n, sp)) (memberTarget half) name
                    Gen.map2
                        (fun t rs -> Slice(t, rs, sp))
                        (exprAt 11 half)
                        (Gen.choose (1, 3) |> Gen.bind (fun n -> Gen.listOfLength n (rangeGen half)))
                ]
        Gen.frequency [ 1, own; 2, tighter ]

/// `a.b` on a name is a dotted name, so a member access needs another kind of target.
and private memberTarget size =
    exprAt 11 size |> Gen.map (function Ident _ as e -> paren e | e -> e)

and private fieldGen size =
    Gen.map2 (fun n v -> { Name = n; NameSpan = sp; Value = v; Span = sp }) name (exprAt 0 size)

and private rangeGen size =
    let bound = Gen.optionOf (exprAt 1 (size / 2))
    Gen.oneof [
        Gen.constant (All sp)
        exprAt 1 (size / 2) |> Gen.map (fun e -> Index(e, sp))
        Gen.map2 (fun lo hi -> Range(lo, hi, sp)) bound bound
    ]

and internal paramsGen (maxCount: int) =
    let one =
        Gen.map2 (fun n shape -> { Name = n; Shape = shape; Span = sp }) name
                 (Gen.optionOf (Gen.choose (1, 3) |> Gen.bind (fun k -> Gen.listOfLength k leaf) |> Gen.map shapeOf))
    Gen.choose (1, maxCount) |> Gen.bind (fun k -> Gen.listOfLength k one)

let private doc = Gen.elements [ None; Some "A layer."; Some "Two lines:\n  indented"; Some "" ]

let rec private bodyGen (size: int) : Gen<Expr> =
    let stmt =
        Gen.oneof [
            gen {
                let! d = doc
                let! n = name
                let! ps = Gen.oneof [ Gen.constant []; paramsGen 2 ]
                let! b = if size > 4 then bodyGen (size / 2) else exprAt 0 (size / 2)
                return LetStmt { Doc = d; Name = n; NameSpan = sp; Params = ps; Body = b; Span = sp }
            }
            gen {
                let! n = name
                let! dims = Gen.choose (1, 3) |> Gen.bind (fun k -> Gen.listOfLength k leaf)
                let! init = exprAt 0 (size / 2)
                return ParamStmt { Name = n; NameSpan = sp; Shape = shapeOf dims; Init = init; Span = sp }
            }
            gen {
                let! n = name
                let! shape =
                    Gen.oneof
                        [ Gen.constant None
                          Gen.choose (1, 3)
                          |> Gen.bind (fun k -> Gen.listOfLength k leaf)
                          |> Gen.map (shapeOf >> Some) ]
                let! value = exprAt 0 (size / 2)
                return StateStmt { Name = n; NameSpan = sp; Shape = shape; Value = value; Span = sp }
            }
        ]
    Gen.oneof [
        exprAt 0 size
        Gen.map2
            (fun ss r -> Block(ss, r, sp))
            (Gen.choose (1, 3) |> Gen.bind (fun k -> Gen.listOfLength k stmt))
            (exprAt 0 (size / 2))
    ]

let internal declGen (size: int) : Gen<Decl> =
    Gen.oneof [
        gen {
            let! d = doc
            let! n = name
            let! ps = Gen.oneof [ Gen.constant []; paramsGen 3 ]
            let! b = bodyGen size
            return LetDecl { Doc = d; Name = n; NameSpan = sp; Params = ps; Body = b; Span = sp }
        }
        gen {
            let! d = doc
            let! n = name
            let! ps = paramsGen 2
            let! out = Gen.optionOf (Gen.listOfLength 2 leaf |> Gen.map shapeOf)
            let! b = bodyGen size
            return NetworkDecl { Doc = d; Name = n; NameSpan = sp; Inputs = ps; Output = out; Body = b; Span = sp }
        }
        gen {
            let! n = name
            let! fs = Gen.choose (0, 4) |> Gen.bind (fun k -> Gen.listOfLength k (fieldGen (size / 2)))
            return TrainDecl { Network = n; NetworkSpan = sp; Fields = fs; Span = sp }
        }
        Gen.elements [ "layers.nn"; "lib/a b.nn" ] |> Gen.map (fun p -> OpenDecl(p, sp))
    ]

/// A random well-formed program (wrapper type so the generator is chosen through the config).
type internal WellFormedProgram = WellFormedProgram of Program

/// A random well-formed expression.
type internal WellFormedExpr = WellFormedExpr of Expr

type internal Arbitraries =
    static member Program() : Arbitrary<WellFormedProgram> =
        Gen.sized (fun s -> Gen.choose (1, 4) |> Gen.bind (fun k -> Gen.listOfLength k (declGen (min s 24))))
        |> Gen.map (fun ds -> WellFormedProgram { File = "gen.nn"; Decls = ds })
        |> Arb.fromGen

    static member Expr() : Arbitrary<WellFormedExpr> =
        Gen.sized (fun s -> exprAt 0 (min s 32)) |> Gen.map WellFormedExpr |> Arb.fromGen

/// Helpers for the Dsl tests: parsing with a readable failure, the example programs, AST shorthands.
module internal DslSamples =
    open System.IO
    open Expecto

    let private repoRoot =
        let rec up (d: DirectoryInfo) =
            if isNull d then "." elif File.Exists(Path.Combine(d.FullName, "Dsl.sln")) then d.FullName else up d.Parent
        up (DirectoryInfo(System.AppContext.BaseDirectory))

    let render (text: string) (ds: Diagnostic list) =
        ds |> List.map (Diagnostic.render (fun _ -> Some text)) |> String.concat "\n"

    let parseOk (text: string) =
        match Parser.parseProgram "t.nn" text with
        | Result.Ok p -> p
        | Result.Error ds -> failtestf "expected a parse, got:\n%s" (render text ds)

    let exprOk (text: string) =
        match Parser.parseExpr "t.nn" text with
        | Result.Ok e -> e
        | Result.Error ds -> failtestf "expected a parse, got:\n%s" (render text ds)

    /// The example programs: the repository's examples/ when present, else the spec's copies.
    let examples =
        let dirs = [ Path.Combine(repoRoot, "examples"); "/work/shared/spec/examples" ]
        match dirs |> List.tryFind Directory.Exists with
        | Some d ->
            Directory.GetFiles(d, "*.nn")
            |> Array.sort
            |> Array.map (fun f -> Path.GetFileName f, File.ReadAllText f)
            |> List.ofArray
        | None -> []

    let sp = Span.none
    let id n = Ident(n, sp)
    let num v = Number(float v, true, sp)
    let app f a = App(f, a, sp)
    let inf op l r = Infix(op, l, r, sp, sp)

/// A number literal as a user may spell it: leading and trailing zeros, `e` or `E`, an exponent sign or none.
type NumberLiteral = NumberLiteral of string

/// A train block whose fields carry trailing comments lined up by hand (each off by at most one column).
type HandAlignedComments = HandAlignedComments of fields: (string * int) list * padding: int * offsets: int list

type FormatArbitraries =
    static member Number() : Arbitrary<NumberLiteral> =
        let digits lo hi =
            Gen.choose (lo, hi) |> Gen.bind (fun k -> Gen.listOfLength k (Gen.elements [ '0'; '1'; '5'; '9' ]))
        gen {
            let! whole = digits 1 3
            let! fraction = Gen.optionOf (digits 1 3)
            let! exponent = Gen.optionOf (Gen.zip (Gen.elements [ "e"; "E"; "e-"; "e+"; "E-" ]) (digits 1 2))
            let text =
                System.String(Array.ofList whole)
                + (fraction |> Option.map (fun f -> "." + System.String(Array.ofList f)) |> Option.defaultValue "")
                + (exponent |> Option.map (fun (e, d) -> e + System.String(Array.ofList d)) |> Option.defaultValue "")
            return NumberLiteral text
        }
        |> Arb.fromGen

    static member Comments() : Arbitrary<HandAlignedComments> =
        gen {
            let! k = Gen.choose (2, 5)
            let field =
                Gen.zip (Gen.elements [ "batch"; "epochs"; "lr"; "validation"; "seed" ]) (Gen.choose (0, 100000))
            let! fields = Gen.listOfLength k field
            let! padding = Gen.choose (2, 8)
            let! offsets = Gen.listOfLength k (Gen.choose (0, 1))
            return HandAlignedComments(fields, padding, offsets)
        }
        |> Arb.fromGen
