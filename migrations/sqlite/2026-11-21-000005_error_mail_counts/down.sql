DROP TABLE error_mail_counts;
