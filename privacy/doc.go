package privacy

//go:generate go run gen_edges.go
