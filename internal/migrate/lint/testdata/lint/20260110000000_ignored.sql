-- atlas:nolint

DROP TABLE "tags";
