// Package api serves gatehouse's JSON resource API: /users/me,
// /oauth2/userinfo, self-service /api-keys and the /admin API.
//
// Every route runs behind the guard; handlers parse the request once, call
// the manage service layer and hand the result (or an error) to one writer.
// It must not import another endpoint package.
package api
