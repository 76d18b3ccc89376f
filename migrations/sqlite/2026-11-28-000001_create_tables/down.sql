DROP TABLE job_inputs;
DROP TABLE jobs;
DROP TABLE models;
DROP TABLE api_keys;
DROP TABLE users;
DROP TABLE accounts;
