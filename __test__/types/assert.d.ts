// Type-level assertions shared by the type tests (a global script, no imports).
//
// Equals<A, B> is true only when A and B are identical types (not merely
// mutually assignable), so `const ok: Equals<X, Y> = true;` fails to compile
// as soon as X and Y differ in any way, e.g. an extra export or a changed
// parameter type.
type Equals<A, B> =
    (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;

/** Compiles only when A and B are identical: `expectExact<A, B>(true)`. */
declare function expectExact<A, B>(ok: Equals<A, B>): void;
