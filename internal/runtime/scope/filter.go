package scope

// Column names every entity has (the base mixin).
const (
	ColumnID        = "id"
	ColumnTenantID  = "tenant_id"
	ColumnDeletedAt = "deleted_at"
)
