-- 002_users_list_index: GET /v1/users pages by id inside one company.
CREATE INDEX users_company_id ON gerbang.users (company_id, id);
