package guard

// WellFormedKey is the credential format check, for the table test.
var WellFormedKey = wellFormedKey
