package db

//go:generate go run ./internal/cmd/entc
