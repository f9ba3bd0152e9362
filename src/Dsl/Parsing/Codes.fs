/// The stable diagnostic codes of the syntax stage. Codes never change meaning once released;
/// tests pin the exact rendered text of each one (tests/Dsl/DiagnosticTests.fs).
///
/// | code   | meaning                                                                  |
/// |--------|--------------------------------------------------------------------------|
/// | NN0001 | the source file cannot be read (missing, a directory, no permission)     |
/// | NN0002 | the source file is not text (NUL bytes or invalid UTF-8)                 |
/// | NN0003 | the source file is empty (only whitespace)                               |
/// | NN0101 | unexpected character or token                                            |
/// | NN0102 | a bracket `(`, `[`, `{` or `.[` is never closed (note: where it opened)  |
/// | NN0103 | offside: a line is indented too little or not aligned with its block     |
/// | NN0104 | a tab character (indentation must use spaces)                            |
/// | NN0105 | a string or block comment is not terminated                              |
/// | NN0106 | an expression was expected                                               |
/// | NN0107 | brackets or expressions nested too deeply                                |
/// | NN0108 | an invalid escape sequence in a string                                   |
/// | NN0109 | a number literal too large to represent                                  |
/// | NN0190 | the formatter could not reproduce the program (a bug; the file is kept)  |
/// | NN0199 | the parser failed unexpectedly (a bug, reported instead of a crash)      |
module internal Nn.Dsl.Codes

let cannotRead = "NN0001"
let notText = "NN0002"
let emptyFile = "NN0003"
let unexpected = "NN0101"
let unclosed = "NN0102"
let offside = "NN0103"
let tab = "NN0104"
let unterminated = "NN0105"
let expectedExpr = "NN0106"
let tooDeep = "NN0107"
let badEscape = "NN0108"
let badNumber = "NN0109"

/// Deepest bracket nesting the parser accepts; the parser recurses once per level.
let maxNesting = 500

/// Deepest AST the parser hands on; every later stage walks the tree recursively.
let maxDepth = 1000
